CREATE TABLE "notification_delivery" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"resident" text NOT NULL,
	"channel" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"not_before" timestamp with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"recipient" text,
	"provider_id" text,
	"provider_status" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_delivery_channel_check" CHECK ("notification_delivery"."channel" in ('sms', 'email')),
	CONSTRAINT "notification_delivery_status_check" CHECK (status in ('pending', 'sending', 'queued', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'unknown'))
);
--> statement-breakpoint
CREATE TABLE "notification_delivery_message" (
	"message_id" bigint NOT NULL,
	"channel" text NOT NULL,
	"delivery_id" bigint NOT NULL,
	CONSTRAINT "notification_delivery_message_message_id_channel_pk" PRIMARY KEY("message_id","channel")
);
--> statement-breakpoint
ALTER TABLE "notification_request" ADD COLUMN "planned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notification_delivery_message" ADD CONSTRAINT "notification_delivery_message_delivery_id_notification_delivery_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."notification_delivery"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "notification_delivery_waiting_unique" ON "notification_delivery" USING btree ("resident","channel") WHERE "notification_delivery"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "notification_delivery_due_idx" ON "notification_delivery" USING btree ("not_before") WHERE "notification_delivery"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "notification_delivery_lease_idx" ON "notification_delivery" USING btree ("lease_until") WHERE "notification_delivery"."status" = 'sending';--> statement-breakpoint
CREATE UNIQUE INDEX "notification_delivery_provider_unique" ON "notification_delivery" USING btree ("channel","provider_id");--> statement-breakpoint
CREATE INDEX "notification_delivery_citizen_sent_idx" ON "notification_delivery" USING btree ("resident","channel","sent_at");--> statement-breakpoint
CREATE INDEX "notification_delivery_message_delivery_idx" ON "notification_delivery_message" USING btree ("delivery_id");--> statement-breakpoint
CREATE INDEX "notification_request_waiting_idx" ON "notification_request" USING btree ("resident","created_at") WHERE "notification_request"."planned_at" is null;