CREATE TABLE "engine_decision" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"notification_id" bigint,
	"held_id" bigint,
	"key_hash" text NOT NULL,
	"source_system" text NOT NULL,
	"logical_address" text NOT NULL,
	"booking_id" text NOT NULL,
	"outcome" text NOT NULL,
	"message_kind" text,
	"because" text NOT NULL,
	"message_cause" text,
	CONSTRAINT "engine_decision_outcome_check" CHECK ("engine_decision"."outcome" in ('message', 'no_message', 'dead'))
);
--> statement-breakpoint
CREATE TABLE "source_activity_hourly" (
	"environment" text NOT NULL,
	"source_system" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"received" bigint DEFAULT 0 NOT NULL,
	"ignored" bigint DEFAULT 0 NOT NULL,
	"invitation" bigint DEFAULT 0 NOT NULL,
	"booking_confirmation" bigint DEFAULT 0 NOT NULL,
	"cancellation" bigint DEFAULT 0 NOT NULL,
	"rebooking" bigint DEFAULT 0 NOT NULL,
	"invitation_updated" bigint DEFAULT 0 NOT NULL,
	"no_message" bigint DEFAULT 0 NOT NULL,
	"producer_failures" bigint DEFAULT 0 NOT NULL,
	"dead_letters" bigint DEFAULT 0 NOT NULL,
	"last_seen_at" timestamp with time zone,
	CONSTRAINT "source_activity_hourly_environment_source_system_hour_pk" PRIMARY KEY("environment","source_system","hour"),
	CONSTRAINT "source_activity_hourly_environment_check" CHECK ("source_activity_hourly"."environment" in ('qa', 'prod'))
);
--> statement-breakpoint
CREATE TABLE "unregistered_sighting" (
	"environment" text NOT NULL,
	"source_system" text NOT NULL,
	"logical_address" text NOT NULL,
	"notifications" bigint DEFAULT 0 NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "unregistered_sighting_environment_source_system_logical_address_pk" PRIMARY KEY("environment","source_system","logical_address"),
	CONSTRAINT "unregistered_sighting_environment_check" CHECK ("unregistered_sighting"."environment" in ('qa', 'prod'))
);
--> statement-breakpoint
ALTER TABLE "web_session" ADD COLUMN "support" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "engine_decision_booking_idx" ON "engine_decision" USING btree ("source_system","booking_id","id");--> statement-breakpoint
CREATE INDEX "engine_decision_post_idx" ON "engine_decision" USING btree ("key_hash","id");--> statement-breakpoint
CREATE INDEX "engine_decision_at_idx" ON "engine_decision" USING btree ("at");--> statement-breakpoint
CREATE INDEX "inbound_notification_dead_idx" ON "inbound_notification" USING btree ("source_system","id") WHERE "inbound_notification"."status" = 'dead';--> statement-breakpoint
-- HSA-ids are not case-sensitive: of live registrations differing only in case, the later ones are
-- deactivated (they could never both have been meant), then every HSA-id is stored upper-case.
UPDATE "source_system" s SET "deactivated_at" = now(), "updated_at" = now()
  WHERE s."deactivated_at" IS NULL AND EXISTS (SELECT 1 FROM "source_system" o WHERE o."deactivated_at" IS NULL
    AND o."environment" = s."environment" AND upper(o."hsa_id") = upper(s."hsa_id") AND o."id" < s."id");--> statement-breakpoint
UPDATE "source_system" SET "hsa_id" = upper("hsa_id") WHERE "hsa_id" <> upper("hsa_id");--> statement-breakpoint
ALTER TABLE "source_system" ADD CONSTRAINT "source_system_hsa_id_upper_check" CHECK ("source_system"."hsa_id" = upper("source_system"."hsa_id"));