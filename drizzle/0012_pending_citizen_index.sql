DROP INDEX "inbound_notification_pending_resident_idx";--> statement-breakpoint
DROP INDEX "inbound_notification_pending_delete_idx";--> statement-breakpoint
CREATE INDEX "inbound_notification_pending_citizen_idx" ON "inbound_notification" USING btree ("resident","source_system","id") WHERE "inbound_notification"."status" = 'pending';