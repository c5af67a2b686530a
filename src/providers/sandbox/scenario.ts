/**
 * Scenario tokens (PROVIDERS §11.2): `[[scenario:<id>[;key=value…]]]` in the prompt, comma-separated to combine.
 * They travel through the gateway untouched, so end-to-end tests pick upstream behaviour from the request.
 */
export interface Scenario {
  id: string;
  options: Record<string, string>;
}

const TOKEN = /\[\[scenario:([^\]]+)\]\]/g;

export function parseScenarios(prompt: string): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const match of prompt.matchAll(TOKEN)) {
    for (const part of match[1]!.split(',')) {
      const [id, ...pairs] = part.trim().split(';');
      if (!id) continue;
      const options: Record<string, string> = {};
      for (const pair of pairs) {
        const [key, value] = pair.split('=');
        if (key) options[key.trim()] = (value ?? '').trim();
      }
      scenarios.push({ id: id.trim(), options });
    }
  }
  return scenarios;
}

export function findScenario(scenarios: Scenario[], id: string): Scenario | undefined {
  return scenarios.find((scenario) => scenario.id === id);
}

export function numberOption(scenario: Scenario | undefined, key: string): number | undefined {
  const raw = scenario?.options[key];
  if (raw === undefined || raw === '' || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}
