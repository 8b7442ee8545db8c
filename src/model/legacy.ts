/**
 * Model files written by earlier versions: the one place that reads their
 * config into today's shape. Switches that were removed (their measured gain
 * was inside the seed-to-seed spread) either only acted in training, so a
 * file trained with them tags as it always did, or changed the network, so
 * the file is refused with one line naming the switch.
 */

/** The feature switches this version no longer has, by their recipe field (`feature.<name>`). */
export const REMOVED_SWITCHES: Readonly<Record<string, string>> = {
  docContext: "document context", contextTokens: "document context", lockedDropout: "locked dropout",
  wordDropout: "word dropout", sentenceRep: "the sentence representation", gazetteer: "the gazetteer",
};

/** Switches that only acted in training: dropped from an old config, the model tags as before. */
const TRAINING_ONLY = ["lockedDropout", "wordDropout"] as const;

/** Switches that changed the network: a file using one cannot be run by this version. */
const STRUCTURAL: readonly { field: string; name: string; on: (v: unknown) => boolean }[] = [
  { field: "sentenceRep", name: "the sentence representation (feature.sentenceRep)", on: (v) => v !== undefined && v !== 0 },
  { field: "gazetteer", name: "the gazetteer (feature.gazetteer)", on: (v) => v !== undefined && v !== false && v !== null },
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A tagger config (`config.tagger` or a member's) without the training-only switches; refuses the structural ones. */
function upgradeTagger(t: unknown, fail: (why: string) => Error): unknown {
  if (!isObject(t)) return t;
  for (const s of STRUCTURAL) if (s.on(t[s.field])) throw fail(removed(s.name));
  const out = { ...t };
  for (const f of TRAINING_ONLY) delete out[f];
  return out;
}

const removed = (name: string): string =>
  `it uses ${name}, which this version of lstm-ner no longer has (it did not improve dev F1); retrain without it`;

/** Why `feature.<field>` is refused in a recipe, or undefined for a field that was not removed. */
export function removedSwitch(field: string): string | undefined {
  const name = Object.hasOwn(REMOVED_SWITCHES, field) ? REMOVED_SWITCHES[field] : undefined;
  return name === undefined ? undefined : `feature.${field} (${name}) was removed: it did not improve dev F1 beyond the seed-to-seed spread`;
}

/**
 * An old model file's `config` as this version reads it (today's files pass unchanged).
 * @param fail makes the error for a reason (naming the file).
 */
export function upgradeConfig(config: unknown, fail: (why: string) => Error): unknown {
  if (!isObject(config)) return config;
  if (config.context !== undefined) throw fail(removed("document context (feature.docContext)"));
  const out: Record<string, unknown> = { ...config };
  if (out.tagger !== undefined) out.tagger = upgradeTagger(out.tagger, fail);
  if (Array.isArray(out.members)) out.members = out.members.map((m: unknown) => (isObject(m) ? { ...m, tagger: upgradeTagger(m.tagger, fail) } : m));
  return out;
}
