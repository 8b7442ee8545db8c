/**
 * Every feature a model can have: each file registers itself when imported,
 * and the order of these lines is the order in which their blocks join the
 * BiLSTM input after the word embedding (and their parameters are listed).
 * A new feature is one file in this folder and one line here.
 */
import "./chars.js";
import "./casing.js";
import "./char-lm.js";
import "./doc-memory.js";
import { registeredFeatures } from "./kind.js";

/** The features, in input order. */
export const FEATURES = registeredFeatures();
