ALTER TABLE "inbound_notification" DROP CONSTRAINT "inbound_notification_call_id_notification_call_id_fk";
