ALTER TABLE "ingest_post" ADD COLUMN "recent" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "inbound_notification" ADD COLUMN "delivered_mode" text;--> statement-breakpoint
CREATE INDEX "inbound_notification_pending_post_idx" ON "inbound_notification" USING btree ("key_hash","id") WHERE "inbound_notification"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "inbound_notification_pending_delete_idx" ON "inbound_notification" USING btree ("resident","source_system","id") WHERE "inbound_notification"."status" = 'pending' and "inbound_notification"."delete_flag";--> statement-breakpoint
ALTER TABLE "inbound_notification" ADD CONSTRAINT "inbound_notification_delivered_mode_check" CHECK ("inbound_notification"."delivered_mode" in ('active', 'silent'));--> statement-breakpoint
-- Hand-written: the sequence each post last received counts as received when it was last updated, so that a redelivery arriving during the upgrade is still recognised.
UPDATE "ingest_post" SET "recent" = jsonb_build_array(jsonb_build_object('h', "sequence_hash", 't', extract(epoch from "updated_at")));
