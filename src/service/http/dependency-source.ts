// What a handler is built with (docs/architecture.md "Conventions": explicit
// wiring): either the dependencies themselves (tests, the local stack) or a
// function that builds them on first use (a Lambda container, which reads
// its settings only when the first request arrives, so a module load never
// fails on configuration and a broken setting is a logged 500, not a crash
// loop). Built once and shared by every invocation of the container; a build
// that failed is forgotten, so the next invocation tries again (a KMS key
// that was briefly unreachable does not poison the container).

export type DependencySource<D> = D | (() => Promise<D>);

/** `build`, called at most once at a time; its result kept, its failure not. */
export function buildOnce<D>(build: () => Promise<D>): () => Promise<D> {
  let pending: Promise<D> | undefined;
  return () => {
    if (!pending) {
      const attempt = build();
      pending = attempt;
      attempt.catch(() => {
        if (pending === attempt) pending = undefined;
      });
    }
    return pending;
  };
}

/** The source as a function answering the dependencies. */
export function resolverOf<D>(source: DependencySource<D>): () => Promise<D> {
  if (typeof source === "function") return source as () => Promise<D>;
  const ready = Promise.resolve(source);
  return () => ready;
}
