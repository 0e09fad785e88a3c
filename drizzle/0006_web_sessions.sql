CREATE TABLE "web_session" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"subject" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	CONSTRAINT "web_session_kind_check" CHECK ("web_session"."kind" in ('citizen', 'admin')),
	CONSTRAINT "web_session_end_check" CHECK (("web_session"."ended_at" is null) = ("web_session"."end_reason" is null))
);
--> statement-breakpoint
CREATE INDEX "web_session_last_seen_idx" ON "web_session" USING btree ("last_seen_at");