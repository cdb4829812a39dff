import { z } from 'zod';
import {
  AgeBandSchema,
  DisplayNameSchema,
  IdSchema,
  PasswordSchema,
  textSchema,
  TimestampSchema,
  UsernameSchema,
} from './common.js';

export const UserKindSchema = z.enum(['human', 'bot']);

/** What any signed-in account may see of another. */
export const UserSummarySchema = z
  .object({
    id: IdSchema,
    username: z.string(),
    displayName: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    kind: UserKindSchema,
  })
  .meta({ id: 'UserSummary' });
export type UserSummary = z.infer<typeof UserSummarySchema>;

/** The signed-in account's own view of itself. */
export const MeSchema = UserSummarySchema.extend({
  ageBand: AgeBandSchema,
  /** False until the mini-profile (display name) has been completed once. */
  profileComplete: z.boolean(),
  /** False when a guardian switched group chats off for this (teen) account. */
  groupChatsAllowed: z.boolean(),
  /** An administrator of this installation: may add, review and remove apps. */
  admin: z.boolean(),
  createdAt: TimestampSchema,
}).meta({ id: 'Me' });
export type Me = z.infer<typeof MeSchema>;

export const SignUpRequestSchema = z.object({
  username: UsernameSchema,
  password: PasswordSchema,
  displayName: DisplayNameSchema.optional(),
  ageBand: AgeBandSchema.default('adult'),
  /** `cookie` sets an httpOnly session cookie (browsers); `token` returns a bearer token (programs). */
  session: z.enum(['cookie', 'token']).default('cookie'),
});
export type SignUpRequest = z.input<typeof SignUpRequestSchema>;

export const SignInRequestSchema = z.object({
  username: UsernameSchema,
  password: textSchema({ max: 256, min: 1 }),
  session: z.enum(['cookie', 'token']).default('cookie'),
});
export type SignInRequest = z.input<typeof SignInRequestSchema>;

export const SessionResponseSchema = z
  .object({
    user: MeSchema,
    /** Present when the session was asked for as a bearer token. */
    token: z.string().optional(),
  })
  .meta({ id: 'SessionResponse' });
export type SessionResponse = z.infer<typeof SessionResponseSchema>;

export const UpdateMeRequestSchema = z
  .object({
    displayName: DisplayNameSchema.optional(),
    username: UsernameSchema.optional(),
  })
  .refine((value) => value.displayName !== undefined || value.username !== undefined, 'nothing to update');
export type UpdateMeRequest = z.input<typeof UpdateMeRequestSchema>;

export const UserParamsSchema = z.object({ userId: IdSchema });
export const UsernameParamsSchema = z.object({ username: UsernameSchema });
export const AvatarParamsSchema = z.object({ avatarId: IdSchema });

export const BlockListSchema = z.object({
  blocked: z.array(z.object({ user: UserSummarySchema, blockedAt: TimestampSchema })),
});
export type BlockList = z.infer<typeof BlockListSchema>;

export const GuardianLinkSchema = z
  .object({
    id: IdSchema,
    guardian: UserSummarySchema,
    teen: UserSummarySchema,
    status: z.enum(['pending', 'active']),
    /** Whether the teen may create or join groups. */
    groupChatsAllowed: z.boolean(),
    createdAt: TimestampSchema,
    confirmedAt: TimestampSchema.nullable(),
  })
  .meta({ id: 'GuardianLink' });
export type GuardianLink = z.infer<typeof GuardianLinkSchema>;

export const CreateGuardianLinkRequestSchema = z.object({ teenUsername: UsernameSchema });
export const CreateGuardianLinkResponseSchema = z.object({
  link: GuardianLinkSchema,
  /** One-time code the teen enters to confirm the link; shown once, valid until `expiresAt`. */
  code: z.string(),
  expiresAt: TimestampSchema,
});
export type CreateGuardianLinkResponse = z.infer<typeof CreateGuardianLinkResponseSchema>;
export const ConfirmGuardianLinkRequestSchema = z.object({ code: textSchema({ max: 64, trim: true, min: 1 }) });
export const GuardianLinkListSchema = z.object({
  /** Links where the signed-in account is the guardian. */
  teens: z.array(GuardianLinkSchema),
  /** The link where the signed-in account is the teen, if any. */
  guardian: GuardianLinkSchema.nullable(),
});
export type GuardianLinkList = z.infer<typeof GuardianLinkListSchema>;
export const GuardianLinkParamsSchema = z.object({ linkId: IdSchema });
export const TeenControlsRequestSchema = z.object({ groupChatsAllowed: z.boolean() });
