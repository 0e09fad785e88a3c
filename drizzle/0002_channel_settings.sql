CREATE TABLE "citizen_channel_settings" (
	"resident" text PRIMARY KEY NOT NULL,
	"sms_enabled" boolean DEFAULT false NOT NULL,
	"sms_phone" text,
	"email_enabled" boolean DEFAULT false NOT NULL,
	"email_address" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "citizen_channel_settings_sms_check" CHECK (not "citizen_channel_settings"."sms_enabled" or "citizen_channel_settings"."sms_phone" is not null),
	CONSTRAINT "citizen_channel_settings_email_check" CHECK (not "citizen_channel_settings"."email_enabled" or "citizen_channel_settings"."email_address" is not null)
);
