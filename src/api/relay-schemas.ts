// Request and response schemas of the TIGRESS relay (draft-vinokurov-tigress-http-00
// §6.1–§6.6, payload §7.2). Two deliberate differences from the rest of the
// API, both for compatibility with clients written from the draft's text:
// request objects are not strict (a field the draft may add later is
// ignored, and not stored), and the relay, not the handler, validates bodies,
// because a repeated Mailbox-Request-ID must answer 201 before its body is
// looked at (§5.1). Schemas check shape only; the relay checks sizes (413),
// the IV‖tag minimum and expiration bounds.
import * as z from "zod/mini";

/** Largest decoded payload `data` (IV ‖ ciphertext ‖ tag) a mailbox holds; larger answers 413. */
export const MAX_PAYLOAD_DATA_BYTES = 64 * 1024;
/** Largest request body the relay reads (a full-size payload in base64 plus the rest); larger answers 413. */
export const MAX_RELAY_BODY_BYTES = 128 * 1024;
/** Largest decoded Mailbox-Device-Attestation. */
export const MAX_ATTESTATION_BYTES = 4 * 1024;
/** AES-GCM per §7.2: a 96-bit IV and a 128-bit tag around the ciphertext. */
export const AEAD_IV_BYTES = 12;
export const AEAD_TAG_BYTES = 16;

const MAX_PAYLOAD_BASE64_CHARS = 4 * Math.ceil(MAX_PAYLOAD_DATA_BYTES / 3);
/**
 * The shortest base64 that can hold IV ‖ tag (28 bytes) unpadded. The schema
 * states it so the document does not promise that shorter data is accepted;
 * the relay still checks the decoded length (padding can make 38 characters
 * decode to 27 bytes).
 */
const MIN_PAYLOAD_BASE64_CHARS = Math.ceil(((AEAD_IV_BYTES + AEAD_TAG_BYTES) * 4) / 3);
const MAX_ATTESTATION_BASE64_CHARS = 4 * Math.ceil(MAX_ATTESTATION_BYTES / 3);

export const AEAD_TYPES = ["AEAD_AES_128_GCM", "AEAD_AES_256_GCM"] as const;

/** RFC 4648 base64, standard or URL-safe alphabet, padding optional. */
export const BASE64_PATTERN = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** RFC 3339 date-time; the draft asks for UTC (`Z`), an explicit offset is converted. */
export const RFC3339_PATTERN =
  /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const payloadFields = {
  type: z.enum(AEAD_TYPES).check(z.meta({ description: "RFC 5116 AEAD algorithm (§7.2)" })),
  data: z.string().check(
    z.minLength(MIN_PAYLOAD_BASE64_CHARS),
    z.maxLength(MAX_PAYLOAD_BASE64_CHARS),
    z.regex(BASE64_PATTERN, "must be base64"),
    z.meta({
      description:
        `base64(IV ‖ ciphertext ‖ tag): a 12-byte IV, a 16-byte tag; at most ${MAX_PAYLOAD_DATA_BYTES} bytes ` +
        "decoded (413 beyond). The relay never looks inside.",
    }),
  ),
};

const displayFields = {
  title: z.string().check(z.maxLength(256), z.meta({ description: "og:title of the link preview" })),
  description: z
    .string()
    .check(z.maxLength(1024), z.meta({ description: "og:description of the link preview" })),
  imageURL: z
    .string()
    .check(
      z.maxLength(2048),
      z.regex(/^(?:$|https?:\/\/[^\s<>"']+$)/i, "must be an http(s) URL or empty"),
      z.meta({ description: "og:image of the link preview: an absolute http(s) URL, or empty for none" }),
    ),
};

const RequestPayloadSchema = z
  .object(payloadFields)
  .check(z.meta({ description: "End-to-end encrypted content (§7.2); only its shape and size are checked" }));

const RequestDisplayInformationSchema = z.object(displayFields).check(
  z.meta({
    description:
      "Plaintext preview (§6.1.5), served to anyone holding the link by GET /v1/m/{id}: it must not identify anyone",
  }),
);

const NotificationTokenSchema = z
  .object({
    type: z
      .string()
      .check(z.minLength(1), z.maxLength(128), z.meta({ description: "Push system, e.g. com.apple.apns" })),
    tokenData: z.string().check(z.minLength(1), z.maxLength(4096)),
  })
  .check(
    z.meta({
      description:
        "Accepted for compatibility and discarded: this relay does not push (isPushNotificationSupported is false)",
    }),
  );

const MailboxConfigurationSchema = z
  .object({
    accessRights: z
      .optional(z.string().check(z.regex(/^[RWDrwd]{1,3}$/, "must be a combination of R, W and D")))
      .check(
        z.meta({
          description:
            "What the Recipient may do: R read, W update, D delete (each at most once). The Initiator may always " +
            "do all three. Absent: RWD, so the draft's multi-round flow works.",
        }),
      ),
    expiration: z
      .optional(
        z
          .string()
          .check(z.regex(RFC3339_PATTERN, "must be an RFC 3339 date-time, e.g. 2024-01-11T10:00:00Z")),
      )
      .check(
        z.meta({
          description:
            "RFC 3339 UTC; must be in the future; later than 7 days ahead is shortened to 7 days. Absent: 24 hours.",
        }),
      ),
  })
  .check(z.meta({ description: "Optional; the relay's defaults apply to what is missing" }));

export const CreateMailboxRequestSchema = z
  .object({
    payload: RequestPayloadSchema,
    displayInformation: RequestDisplayInformationSchema,
    notificationToken: z.optional(NotificationTokenSchema),
    mailboxConfiguration: z.optional(MailboxConfigurationSchema),
  })
  .check(z.meta({ id: "MailboxCreateRequest" }));

export const UpdateMailboxRequestSchema = z
  .object({ payload: RequestPayloadSchema, notificationToken: z.optional(NotificationTokenSchema) })
  .check(z.meta({ id: "MailboxUpdateRequest" }));

const Expiration = z
  .string()
  .check(
    z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    z.meta({ description: "When the mailbox is deleted: RFC 3339 UTC, whole seconds" }),
  );

export const CreateMailboxResponseSchema = z
  .strictObject({
    urlLink: z.string().check(
      z.meta({
        description: "https://<host>/v1/m/<id>; the client appends ?v=… and #<secret> (§7.3)",
      }),
    ),
    isPushNotificationSupported: z
      .boolean()
      .check(z.meta({ description: "Always false: poll with ReadSecureContent" })),
    expiration: Expiration.check(
      z.meta({ description: "The expiration in force (not in the draft: an addition)" }),
    ),
  })
  .check(z.meta({ id: "MailboxCreateResponse" }));

export const UpdateMailboxResponseSchema = z
  .strictObject({ isPushNotificationSupported: z.boolean() })
  .check(z.meta({ id: "MailboxUpdateResponse" }));

export const ReadSecureContentResponseSchema = z
  .strictObject({
    payload: z.strictObject(payloadFields),
    displayInformation: z.strictObject(displayFields),
    expiration: Expiration,
  })
  .check(z.meta({ id: "MailboxContent" }));

export const PreviewPageSchema = z.string().check(
  z.meta({
    description:
      "text/html: an OpenGraph page (og:title, og:description, og:image, og:url) without scripts, for link previews",
  }),
);

export const MailboxIdParamsSchema = z.strictObject({
  id: z
    .string()
    .check(
      z.regex(UUID_PATTERN),
      z.meta({ description: "Mailbox id: the v4 UUID in urlLink (anything else is 404)" }),
    ),
});

export type AeadPayload = z.infer<z.ZodMiniObject<typeof payloadFields>>;
export type DisplayInformation = z.infer<z.ZodMiniObject<typeof displayFields>>;
export type CreateMailboxRequest = z.infer<typeof CreateMailboxRequestSchema>;
export type UpdateMailboxRequest = z.infer<typeof UpdateMailboxRequestSchema>;
export type CreateMailboxResponse = z.infer<typeof CreateMailboxResponseSchema>;
export type UpdateMailboxResponse = z.infer<typeof UpdateMailboxResponseSchema>;
export type ReadSecureContentResponse = z.infer<typeof ReadSecureContentResponseSchema>;

// ---- headers (§5.1–§5.3; checked by the relay, src/service/relay/mailbox-headers.ts) ----------

const claimHeader = z
  .string()
  .check(
    z.regex(UUID_PATTERN),
    z.meta({ description: "A UUID the client made; the only credential (§5.2). Absent or not a UUID: 401" }),
  );
const requestIdHeader = z.string().check(
  z.regex(UUID_PATTERN),
  z.meta({
    description:
      "A UUID, echoed back; a repeat of the claim's last one answers 201 without acting (§5.1). Absent: 400",
  }),
);
const attestationHeader = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(MAX_ATTESTATION_BASE64_CHARS),
    z.regex(BASE64_PATTERN),
    z.meta({ description: `Optional: base64, up to ${MAX_ATTESTATION_BYTES} bytes, stored opaque (§5.3)` }),
  );

/** Create and Update: claim, request id, optional attestation. */
export const MailboxWriteHeadersSchema = z.object({
  "mailbox-device-claim": claimHeader,
  "mailbox-request-id": requestIdHeader,
  "mailbox-device-attestation": z.optional(attestationHeader),
});
/** Delete and Relinquish: claim and request id. */
export const MailboxActionHeadersSchema = z.object({
  "mailbox-device-claim": claimHeader,
  "mailbox-request-id": requestIdHeader,
});
/** ReadSecureContent: the claim; a request id is optional there. */
export const MailboxReadHeadersSchema = z.object({
  "mailbox-device-claim": claimHeader,
  "mailbox-request-id": z.optional(requestIdHeader),
});
