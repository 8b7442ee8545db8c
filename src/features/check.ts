/**
 * The spec's checks and defaults, shared by the recipes (`--set feature.…`)
 * and the model files (`config.tagger`): the tagger's own fields, then each
 * registered feature's.
 */
import { FEATURES } from "./registry.js";
import type { FeatureKind } from "./kind.js";
import { checkValue, TAGGER_FIELDS, type TaggerSpec } from "./spec.js";

/** The spec fields that may be left out (they read as off, or as one layer). */
export function optionalFields(): string[] {
  return ["layers", ...FEATURES.filter((f) => f.optional).map((f) => f.field)];
}

/**
 * Check every field of a spec: the right kind of value, no unknown field, and
 * what each feature asks of its own. `prefix` names the fields ("feature.",
 * "config.tagger."); `fail` makes the error for a reason.
 */
export function checkSpec(spec: unknown, prefix: string, fail: (why: string) => Error): asserts spec is TaggerSpec {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw fail(`${prefix.slice(0, -1)} must be an object, got ${JSON.stringify(spec)}`);
  const rec = spec as Record<string, unknown>;
  const known = new Set([...Object.keys(TAGGER_FIELDS), ...FEATURES.map((f) => f.field)]);
  for (const k of Object.keys(rec)) if (!known.has(k)) throw fail(`unknown field ${prefix}${k}`);
  for (const [k, rule] of Object.entries(TAGGER_FIELDS)) if (k !== "layers" || rec[k] !== undefined) checkValue(rec[k], rule, prefix + k, fail);
  for (const f of FEATURES) f.check(spec as TaggerSpec, prefix, fail);
}

/** The features a spec turns on, in input order. */
export function featuresOf(spec: TaggerSpec): FeatureKind[] {
  return FEATURES.filter((f) => f.on(spec));
}

/**
 * A spec as a model file stores it: the CRF's constraints only with a CRF, each feature's field with its
 * defaults filled in, and what is off by default left out (one layer, an optional feature that is off),
 * so a switch added later does not change the files of models without it.
 */
export function resolveSpec(spec: TaggerSpec): TaggerSpec {
  const out: TaggerSpec = { ...spec, constrained: spec.constrained && spec.output === "crf" };
  const rec = out as unknown as Record<string, unknown>;
  if ((spec.layers ?? 1) === 1) delete rec.layers;
  for (const f of FEATURES) {
    if (!f.on(spec)) {
      if (f.optional) delete rec[f.field];
    } else if (f.resolve !== undefined) {
      rec[f.field] = f.resolve(spec);
    }
  }
  return out;
}

/** Whether some feature of the spec reads the char vocabulary. */
export function readsChars(spec: TaggerSpec): boolean {
  return featuresOf(spec).some((f) => f.readsChars === true);
}
