import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { loadNerModel, saveModel } from "../model/file.js";
import { NerModel } from "../model/ner.js";
import { ENSEMBLE_COMBINE, type EnsembleCombine } from "../model/format.js";
import { LstmNerError } from "../util/errors.js";
import { refuseOutputOverInput, sameFile } from "../util/same-file.js";

export interface EnsembleCliOptions extends KernelCliOptions {
  out: string;
  /** How the members are combined (default "potentials"). */
  combine?: EnsembleCombine;
}

/** `--combine`'s value, checked. */
export function parseCombine(v: string): EnsembleCombine {
  if (!(ENSEMBLE_COMBINE as readonly string[]).includes(v)) throw new LstmNerError(`--combine must be ${ENSEMBLE_COMBINE.join(" or ")}, got ${JSON.stringify(v)}`);
  return v as EnsembleCombine;
}

/**
 * `lstm-ner ensemble [--combine potentials|vote] --out FILE MODEL MODEL...`: one model file that predicts with the
 * members' averaged CRF potentials, or by a majority vote over their entity spans.
 */
export async function runEnsemble(models: string[], o: EnsembleCliOptions): Promise<void> {
  if (models.length < 2) throw new LstmNerError(`an ensemble needs at least 2 model files, got ${models.length}`);
  refuseOutputOverInput(o.out, "--out", models.map((file) => ({ file, what: "member model" })));
  // The same file twice is one model counted twice, not an ensemble.
  models.forEach((file, j) => {
    const i = models.findIndex((other) => sameFile(other, file));
    if (i < j) throw new LstmNerError(`the member model is given twice (also as ${models[i]}); an ensemble combines different models`, { file });
  });
  const kernels = await cliKernels(o);
  const members: NerModel[] = [];
  for (const file of models) members.push(await loadNerModel(file, kernels));
  const training = { ensemble_of: models.map((file, i) => ({ file, ...members[i]!.training })) };
  let saved;
  try {
    saved = NerModel.ensemble(members, training, { combine: o.combine ?? "potentials" });
  } catch (e) {
    // Name the member file rather than its position.
    if (e instanceof LstmNerError) {
      const i = Number(/^model (\d+)/.exec(e.file ?? "")?.[1] ?? 0) - 1;
      throw models[i] !== undefined ? new LstmNerError(e.message.replace(/^model \d+: /, ""), { file: models[i] }) : e;
    }
    throw e;
  }
  await saveModel(o.out, saved);
  const mixed = saved.config.members !== undefined ? ", members of different architectures" : "";
  process.stderr.write(`ensemble of ${models.length} models (${o.combine ?? "potentials"}${mixed}) written to ${o.out}\n`);
}
