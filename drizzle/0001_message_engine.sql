CREATE TABLE "booking_post" (
	"key_hash" text PRIMARY KEY NOT NULL,
	"resident" text NOT NULL,
	"source_system" text NOT NULL,
	"logical_address" text NOT NULL,
	"booking_id" text NOT NULL,
	"categorization" text NOT NULL,
	"present" boolean NOT NULL,
	"details" jsonb,
	"start_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "care_unit_relation" (
	"resident" text NOT NULL,
	"care_unit_hsa_id" text NOT NULL,
	"care_unit_name" text,
	"first_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "care_unit_relation_resident_care_unit_hsa_id_pk" PRIMARY KEY("resident","care_unit_hsa_id")
);
--> statement-breakpoint
CREATE TABLE "held_cancellation" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"resident" text NOT NULL,
	"source_system" text NOT NULL,
	"key_hash" text NOT NULL,
	"logical_address" text NOT NULL,
	"categorization" text NOT NULL,
	"details" jsonb,
	"deleted_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'held' NOT NULL,
	"source_notification_id" bigint NOT NULL,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "held_cancellation_status_check" CHECK ("held_cancellation"."status" in ('held', 'merged', 'released', 'dropped'))
);
--> statement-breakpoint
CREATE TABLE "inbox_message" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"resident" text NOT NULL,
	"kind" text NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"care_unit_hsa_id" text NOT NULL,
	"care_unit_name" text,
	"booking" jsonb NOT NULL,
	"key_hash" text NOT NULL,
	"cause" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"read_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "inbox_message_kind_check" CHECK ("inbox_message"."kind" in ('invitation', 'booking_confirmation', 'cancellation', 'rebooking', 'invitation_updated'))
);
--> statement-breakpoint
CREATE TABLE "security_event" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL,
	"logical_address" text NOT NULL,
	"booking_id" text NOT NULL,
	"source_notification_id" bigint,
	"detail" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_request" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"resident" text NOT NULL,
	"message_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "inbound_notification_resident_idx";--> statement-breakpoint
ALTER TABLE "inbound_notification" ADD COLUMN "lease_owner" text;--> statement-breakpoint
ALTER TABLE "inbound_notification" ADD COLUMN "lease_until" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "booking_post_resident_idx" ON "booking_post" USING btree ("resident","present");--> statement-breakpoint
CREATE INDEX "held_cancellation_due_idx" ON "held_cancellation" USING btree ("due_at") WHERE "held_cancellation"."status" = 'held';--> statement-breakpoint
CREATE INDEX "held_cancellation_citizen_idx" ON "held_cancellation" USING btree ("resident","source_system") WHERE "held_cancellation"."status" = 'held';--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_message_cause_unique" ON "inbox_message" USING btree ("cause");--> statement-breakpoint
CREATE INDEX "inbox_message_resident_idx" ON "inbox_message" USING btree ("resident","id");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_request_message_unique" ON "notification_request" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "inbound_notification_pending_resident_idx" ON "inbound_notification" USING btree ("resident","id") WHERE "inbound_notification"."status" = 'pending';