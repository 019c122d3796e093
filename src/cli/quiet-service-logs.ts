// Imported first by the CLI and the bench: when they run the service's handlers
// in-process (`carkey demo`, `npm run bench`), its per-request INFO logs and its
// business metrics (EMF lines on stdout, for CloudWatch in a Lambda) would
// drown their own output and break their `--json` lines. The logger reads these
// at import, hence a module of its own ahead of every other import (the metrics
// are read per answer); explicit settings still win.
process.env.LOG_LEVEL ??= "WARN";
process.env.METRICS_DISABLED ??= "true";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
