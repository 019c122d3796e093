import "reflect-metadata";

// The handlers' business metrics (src/service/http/business-metrics.ts) are EMF lines on stdout; a test that
// checks them switches them on. METRICS_DISABLED=false in the environment shows them all.
process.env.METRICS_DISABLED ??= "true";
