CREATE TABLE "lease_holder" (
	"process_id" text PRIMARY KEY NOT NULL,
	"roles" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notification_delivery" DROP CONSTRAINT "notification_delivery_status_check";--> statement-breakpoint
ALTER TABLE "notification_delivery" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notification_delivery" ADD COLUMN "doubt_settled_by" text;--> statement-breakpoint
CREATE INDEX "lease_holder_heartbeat_idx" ON "lease_holder" USING btree ("heartbeat_at");--> statement-breakpoint
CREATE INDEX "notification_delivery_in_doubt_idx" ON "notification_delivery" USING btree ("not_before") WHERE "notification_delivery"."status" = 'in_doubt';--> statement-breakpoint
ALTER TABLE "notification_delivery" ADD CONSTRAINT "notification_delivery_status_check" CHECK (status in ('pending', 'sending', 'queued', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'in_doubt', 'unknown'));