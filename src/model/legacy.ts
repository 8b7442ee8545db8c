/**
 * Model files written by earlier versions: the one place that reads their
 * config into today's shape (the spec, see src/features/spec.ts). Switches
 * that were removed (their measured gain was inside the seed-to-seed spread)
 * either only acted in training (locked and word dropout), so a file trained
 * with them tags as it always did, or changed the network, so the file is
 * refused with one line naming the switch.
 */

/** The feature switches this version no longer has, by their recipe field (`feature.<name>`). */
export const REMOVED_SWITCHES: Readonly<Record<string, string>> = {
  docContext: "document context", contextTokens: "document context", lockedDropout: "locked dropout",
  wordDropout: "word dropout", sentenceRep: "the sentence representation", gazetteer: "the gazetteer",
};

/** Switches that changed the network: a file using one cannot be run by this version. */
const STRUCTURAL: readonly { field: string; name: string; on: (v: unknown) => boolean }[] = [
  { field: "sentenceRep", name: "the sentence representation (feature.sentenceRep)", on: (v) => v !== undefined && v !== 0 },
  { field: "gazetteer", name: "the gazetteer (feature.gazetteer)", on: (v) => v !== undefined && v !== false && v !== null },
];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A tagger config (`config.tagger` or a member's) in today's shape, the model's spec: files written before
 * the spec was stored verbatim hold the tagger's resolved settings instead (`charVocabSize`, `charDim`,
 * `charFilters`, `charWindow`, the CRF loss's `crfReduction`, no `trainScheme`). Training-only switches are
 * dropped; a structural one is refused.
 */
function upgradeTagger(t: unknown, scheme: unknown, fail: (why: string) => Error): unknown {
  if (!isObject(t)) return t;
  for (const s of STRUCTURAL) if (s.on(t[s.field])) throw fail(removed(s.name));
  if (!("charVocabSize" in t)) return t;
  const { charVocabSize, charDim, charFilters, charWindow, crfReduction: _r, lockedDropout: _l, wordDropout: _w, ...rest } = t;
  const { casingDim, inputDropout, outputDropout, output, constrained, ...later } = rest;
  return {
    chars: typeof charVocabSize === "number" && charVocabSize > 0 ? { dim: charDim, filters: charFilters, window: charWindow } : null,
    casingDim, inputDropout, outputDropout, output, trainScheme: scheme, constrained, ...later,
  };
}

const removed = (name: string): string =>
  `it uses ${name}, which this version of lstm-ner no longer has (it did not improve dev F1); retrain without it`;

/** Why `feature.<field>` is refused in a recipe, or undefined for a field that was not removed. */
export function removedSwitch(field: string): string | undefined {
  const name = Object.hasOwn(REMOVED_SWITCHES, field) ? REMOVED_SWITCHES[field] : undefined;
  return name === undefined ? undefined : `feature.${field} (${name}) was removed: it did not improve dev F1 beyond the seed-to-seed spread`;
}

/**
 * An old model file's `config` as this version reads it (today's files pass unchanged); `scheme` is the
 * file's metadata field "scheme", the one the model was trained in.
 * @param fail makes the error for a reason (naming the file).
 */
export function upgradeConfig(config: unknown, scheme: unknown, fail: (why: string) => Error): unknown {
  if (!isObject(config)) return config;
  if (config.context !== undefined) throw fail(removed("document context (feature.docContext)"));
  const out: Record<string, unknown> = { ...config };
  if (out.tagger !== undefined) out.tagger = upgradeTagger(out.tagger, scheme, fail);
  if (Array.isArray(out.members)) out.members = out.members.map((m: unknown) => (isObject(m) ? { ...m, tagger: upgradeTagger(m.tagger, scheme, fail) } : m));
  return out;
}
