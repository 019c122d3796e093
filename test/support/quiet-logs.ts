// Imported first by handler tests: the service logger reads its level when its
// module loads, so this must run before functions/ are imported. Set
// LOG_LEVEL=INFO in the environment to see the handlers' logs.
process.env.LOG_LEVEL ??= "SILENT";
