/** This release of lstm-ner (kept in step with package.json; recorded in model files). */
export const VERSION = "0.1.0";
