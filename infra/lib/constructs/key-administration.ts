// What the account's IAM policies may do with a service key in KMS: everything
// an administrator needs to manage it, but no cryptographic use and no
// CreateGrant (a grant would be a way around the key policy). Each key adds
// what it allows beyond this (an OEM root: Verify) and names the roles that may
// use it in its own policy statements.
export const KEY_ADMINISTRATION_ACTIONS: readonly string[] = [
  "kms:Describe*",
  "kms:List*",
  "kms:Get*",
  "kms:Enable*",
  "kms:Disable*",
  "kms:Put*",
  "kms:Update*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:RevokeGrant",
  "kms:RetireGrant",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
];
