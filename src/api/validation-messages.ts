// The English messages of zod's validation issues ("Invalid input: expected
// string, received undefined", "Too small: expected string to have >=1
// characters"), which problem answers carry in `errors[].message`. Classic
// zod configures its English locale when it is imported; zod/mini, which the
// schemas use (docs/toolchain.md "Lambda bundles"), configures none, and every
// issue without a message of its own would read "Invalid input". Imported for
// its effect by every module that validates with the schemas.
import { en } from "zod/locales";
import * as z from "zod/mini";

z.config(en());
