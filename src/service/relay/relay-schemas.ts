// Request and response schemas of the TIGRESS relay (draft-vinokurov-tigress-http-00
// §6.1–§6.6, payload §7.2), in the shape of ROUTE_SCHEMAS (../schemas.ts) so
// that table spreads them in and the OpenAPI document lists the relay's
// routes with the very schemas the relay validates with. Two deliberate
// differences from the rest of the API, both for compatibility with clients
// written from the draft's text: request objects are not strict (a field the
// draft may add later is ignored, and not stored), and the relay, not a
// middleware, validates bodies, because a repeated Mailbox-Request-ID must
// answer 201 before its body is looked at (§5.1). Schemas check shape only;
// the relay checks sizes (413), the IV‖tag minimum and expiration bounds.
// This file imports only types from ../schemas.ts, so schemas.ts can import
// it without an import cycle.
import { z } from "zod";
import type { RouteSchemas } from "../schemas.js";

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

export const AEAD_TYPES = ["AEAD_AES_128_GCM", "AEAD_AES_256_GCM"] as const;

/** RFC 4648 base64, standard or URL-safe alphabet, padding optional. */
export const BASE64_PATTERN = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** RFC 3339 date-time; the draft asks for UTC (`Z`), an explicit offset is converted. */
export const RFC3339_PATTERN =
  /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const payloadFields = {
  type: z.enum(AEAD_TYPES).meta({ description: "RFC 5116 AEAD algorithm (§7.2)" }),
  data: z
    .string()
    .max(MAX_PAYLOAD_BASE64_CHARS)
    .regex(BASE64_PATTERN, "must be base64")
    .meta({
      description:
        `base64(IV ‖ ciphertext ‖ tag): a 12-byte IV, a 16-byte tag; at most ${MAX_PAYLOAD_DATA_BYTES} bytes ` +
        "decoded (413 beyond). The relay never looks inside.",
    }),
};

const displayFields = {
  title: z.string().max(256).meta({ description: "og:title of the link preview" }),
  description: z.string().max(1024).meta({ description: "og:description of the link preview" }),
  imageURL: z
    .string()
    .max(2048)
    .regex(/^(?:$|https?:\/\/[^\s<>"']+$)/i, "must be an http(s) URL or empty")
    .meta({ description: "og:image of the link preview: an absolute http(s) URL, or empty for none" }),
};

const RequestPayloadSchema = z
  .object(payloadFields)
  .meta({ description: "End-to-end encrypted content (§7.2); only its shape and size are checked" });

const RequestDisplayInformationSchema = z.object(displayFields).meta({
  description:
    "Plaintext preview (§6.1.5), served to anyone holding the link by GET /v1/m/{id}: it must not identify anyone",
});

const NotificationTokenSchema = z
  .object({
    type: z.string().min(1).max(128).meta({ description: "Push system, e.g. com.apple.apns" }),
    tokenData: z.string().min(1).max(4096),
  })
  .meta({
    description:
      "Accepted for compatibility and discarded: this relay does not push (isPushNotificationSupported is false)",
  });

const MailboxConfigurationSchema = z
  .object({
    accessRights: z
      .string()
      .regex(/^[RWDrwd]{1,3}$/, "must be a combination of R, W and D")
      .optional()
      .meta({
        description:
          "What the Recipient may do: R read, W update, D delete (each at most once). The Initiator may always " +
          "do all three. Absent: RWD, so the draft's multi-round flow works.",
      }),
    expiration: z
      .string()
      .regex(RFC3339_PATTERN, "must be an RFC 3339 date-time, e.g. 2024-01-11T10:00:00Z")
      .optional()
      .meta({
        description:
          "RFC 3339 UTC; must be in the future; later than 7 days ahead is shortened to 7 days. Absent: 24 hours.",
      }),
  })
  .meta({ description: "Optional; the relay's defaults apply to what is missing" });

export const CreateMailboxRequestSchema = z
  .object({
    payload: RequestPayloadSchema,
    displayInformation: RequestDisplayInformationSchema,
    notificationToken: NotificationTokenSchema.optional(),
    mailboxConfiguration: MailboxConfigurationSchema.optional(),
  })
  .meta({ id: "MailboxCreateRequest" });

export const UpdateMailboxRequestSchema = z
  .object({ payload: RequestPayloadSchema, notificationToken: NotificationTokenSchema.optional() })
  .meta({ id: "MailboxUpdateRequest" });

const Expiration = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
  .meta({ description: "When the mailbox is deleted: RFC 3339 UTC, whole seconds" });

export const CreateMailboxResponseSchema = z
  .strictObject({
    urlLink: z.string().meta({
      description: "https://<host>/v1/m/<id>; the client appends ?v=… and #<secret> (§7.3)",
    }),
    isPushNotificationSupported: z
      .boolean()
      .meta({ description: "Always false: poll with ReadSecureContent" }),
    expiration: Expiration.meta({ description: "The expiration in force (not in the draft: an addition)" }),
  })
  .meta({ id: "MailboxCreateResponse" });

export const UpdateMailboxResponseSchema = z
  .strictObject({ isPushNotificationSupported: z.boolean() })
  .meta({ id: "MailboxUpdateResponse" });

export const ReadSecureContentResponseSchema = z
  .strictObject({
    payload: z.strictObject(payloadFields),
    displayInformation: z.strictObject(displayFields),
    expiration: Expiration,
  })
  .meta({ id: "MailboxContent" });

const NoBody = z.literal("").meta({ description: "No body" });
const PreviewPage = z.string().meta({
  description:
    "text/html: an OpenGraph page (og:title, og:description, og:image, og:url) without scripts, for link previews",
});

export const MailboxIdParamsSchema = z.strictObject({
  id: z
    .string()
    .regex(UUID_PATTERN)
    .meta({ description: "Mailbox id: the v4 UUID in urlLink (anything else is 404)" }),
});

const HEADERS =
  "Headers: Mailbox-Device-Claim (a UUID the client made; the only credential), Mailbox-Request-ID (a UUID, " +
  "echoed back; a repeat of the claim's last one answers 201 without acting)";

export const RELAY_ROUTE_SCHEMAS = {
  "POST /v1/m": {
    description:
      `CreateMailbox (TIGRESS §6.1). ${HEADERS}, Mailbox-Device-Attestation (optional, base64 up to ` +
      `${MAX_ATTESTATION_BYTES} bytes, stored opaque). 200 with the link; a repeated request id answers 201 ` +
      "with the same body and creates nothing.",
    body: CreateMailboxRequestSchema,
    response: CreateMailboxResponseSchema,
    successStatus: 200,
    problemStatuses: [400, 401, 413, 429],
  },
  "PUT /v1/m/{id}": {
    description:
      `UpdateMailbox (TIGRESS §6.2): replaces the payload. ${HEADERS}, Mailbox-Device-Attestation (optional). ` +
      "Initiator or bound Recipient (with W); 201 on a repeated request id.",
    params: MailboxIdParamsSchema,
    body: UpdateMailboxRequestSchema,
    response: UpdateMailboxResponseSchema,
    successStatus: 200,
    problemStatuses: [400, 401, 403, 404, 413, 429],
  },
  "DELETE /v1/m/{id}": {
    description: `DeleteMailbox (TIGRESS §6.3). ${HEADERS}. Initiator or bound Recipient (with D); 404 once gone.`,
    params: MailboxIdParamsSchema,
    response: NoBody,
    successStatus: 200,
    problemStatuses: [400, 401, 403, 404, 429],
  },
  "GET /v1/m/{id}": {
    description:
      "ReadDisplayInformationFromMailbox (TIGRESS §6.4): the link preview, unauthenticated, as text/html " +
      "(not JSON, whatever the generic response type below says).",
    params: MailboxIdParamsSchema,
    response: PreviewPage,
    successStatus: 200,
    problemStatuses: [404, 429],
  },
  "POST /v1/m/{id}": {
    description:
      "ReadSecureContentFromMailbox (TIGRESS §6.5). Header Mailbox-Device-Claim. The first claim other than " +
      "the Initiator's is bound as the Recipient (one conditional write: of racing readers exactly one wins); " +
      "any other claim gets 401. Any request body is ignored.",
    params: MailboxIdParamsSchema,
    response: ReadSecureContentResponseSchema,
    successStatus: 200,
    problemStatuses: [401, 403, 404, 429],
  },
  "PATCH /v1/m/{id}": {
    description: `RelinquishMailbox (TIGRESS §6.6): unbinds the Recipient. ${HEADERS}. Recipient only.`,
    params: MailboxIdParamsSchema,
    response: NoBody,
    successStatus: 200,
    problemStatuses: [400, 401, 403, 404, 429],
  },
} as const satisfies Record<string, RouteSchemas>;

export type RelayRouteKey = keyof typeof RELAY_ROUTE_SCHEMAS;
export type AeadPayload = z.infer<z.ZodObject<typeof payloadFields>>;
export type DisplayInformation = z.infer<z.ZodObject<typeof displayFields>>;
export type CreateMailboxRequest = z.infer<typeof CreateMailboxRequestSchema>;
export type UpdateMailboxRequest = z.infer<typeof UpdateMailboxRequestSchema>;
export type CreateMailboxResponse = z.infer<typeof CreateMailboxResponseSchema>;
export type UpdateMailboxResponse = z.infer<typeof UpdateMailboxResponseSchema>;
export type ReadSecureContentResponse = z.infer<typeof ReadSecureContentResponseSchema>;
