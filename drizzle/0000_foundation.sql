CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"entity" text NOT NULL,
	"entity_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb
);
--> statement-breakpoint
CREATE TABLE "source_system" (
	"id" serial PRIMARY KEY NOT NULL,
	"environment" text NOT NULL,
	"hsa_id" text NOT NULL,
	"name" text NOT NULL,
	"mode" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deactivated_at" timestamp with time zone,
	CONSTRAINT "source_system_environment_check" CHECK ("source_system"."environment" in ('qa', 'prod')),
	CONSTRAINT "source_system_mode_check" CHECK ("source_system"."mode" in ('active', 'silent')),
	CONSTRAINT "source_system_hsa_id_check" CHECK (length("source_system"."hsa_id") between 1 and 64 and "source_system"."hsa_id" = btrim("source_system"."hsa_id"))
);
--> statement-breakpoint
CREATE TABLE "ingest_post" (
	"key_hash" text PRIMARY KEY NOT NULL,
	"sequence_hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_call" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"correlation_id" text,
	"transactions" integer NOT NULL,
	"accepted" integer NOT NULL,
	"duplicates" integer DEFAULT 0 NOT NULL,
	"ignored" integer NOT NULL,
	"rejected" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rejected_transaction" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"call_id" bigint NOT NULL,
	"position" integer NOT NULL,
	"code" text NOT NULL,
	"reason" text NOT NULL,
	"fields" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inbound_notification" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"call_id" bigint NOT NULL,
	"position" integer NOT NULL,
	"key_hash" text NOT NULL,
	"resident" text NOT NULL,
	"source_system" text NOT NULL,
	"delete_flag" boolean NOT NULL,
	"engagement" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"processed_at" timestamp with time zone,
	CONSTRAINT "inbound_notification_status_check" CHECK ("inbound_notification"."status" in ('pending', 'done', 'dead'))
);
--> statement-breakpoint
ALTER TABLE "rejected_transaction" ADD CONSTRAINT "rejected_transaction_call_id_notification_call_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."notification_call"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbound_notification" ADD CONSTRAINT "inbound_notification_call_id_notification_call_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."notification_call"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "source_system_live_unique" ON "source_system" USING btree ("environment","hsa_id") WHERE "source_system"."deactivated_at" is null;--> statement-breakpoint
CREATE INDEX "rejected_transaction_call_idx" ON "rejected_transaction" USING btree ("call_id");--> statement-breakpoint
CREATE INDEX "inbound_notification_pending_idx" ON "inbound_notification" USING btree ("id") WHERE "inbound_notification"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "inbound_notification_resident_idx" ON "inbound_notification" USING btree ("resident","id");