import { describe, expect, it } from 'vitest';
import { chooseUpkeep, type TableActivity } from '../../src/db/upkeep.js';

/**
 * The embedded engine's upkeep picks its table with autovacuum's default thresholds (db/upkeep.ts): VACUUM past
 * 50 + 20 % of the rows dead, or 1,000 + 20 % inserted since the last one; ANALYZE past 50 + 10 % modified; the
 * table furthest past its threshold first; a table never vacuumed or analyzed (reltuples -1) counts as empty.
 */
const table = (name: string, fields: Partial<TableActivity> = {}): TableActivity => ({
  table: name, reltuples: 10_000, deadRows: 0, insertedSinceVacuum: 0, modifiedSinceAnalyze: 0, ...fields,
});

describe('embedded upkeep: which table, and what', () => {
  it('nothing below every threshold', () => {
    expect(chooseUpkeep([])).toBeNull();
    expect(chooseUpkeep([table('tasks', { deadRows: 2_050, insertedSinceVacuum: 3_000, modifiedSinceAnalyze: 1_050 })])).toBeNull();
  });

  it('dead rows past 50 + 20 % call for a VACUUM; modifications past 50 + 10 % for an ANALYZE with it', () => {
    expect(chooseUpkeep([table('tasks', { deadRows: 2_051 })])).toMatchObject({ table: 'tasks', vacuum: true, analyze: false });
    expect(chooseUpkeep([table('tasks', { deadRows: 2_051, modifiedSinceAnalyze: 1_051 })])).toMatchObject({ vacuum: true, analyze: true });
    expect(chooseUpkeep([table('tasks', { modifiedSinceAnalyze: 1_051 })])).toMatchObject({ vacuum: false, analyze: true });
  });

  it('an insert-only table is vacuumed past 1,000 + 20 % new rows (visibility map, freezing)', () => {
    expect(chooseUpkeep([table('ledger_entries', { insertedSinceVacuum: 3_001 })])).toMatchObject({ table: 'ledger_entries', vacuum: true });
  });

  it('a table never vacuumed nor analyzed counts as empty', () => {
    expect(chooseUpkeep([table('wallets', { reltuples: -1, deadRows: 51 })])).toMatchObject({ table: 'wallets', vacuum: true });
    expect(chooseUpkeep([table('wallets', { reltuples: -1, deadRows: 50 })])).toBeNull();
  });

  it('the table furthest past its threshold goes first', () => {
    const choice = chooseUpkeep([
      table('tasks', { deadRows: 4_100 }), // twice its threshold
      table('wallets', { reltuples: 2, deadRows: 510 }), // ten times
      table('reservations', { modifiedSinceAnalyze: 5_250 }), // five times
    ]);
    expect(choice).toMatchObject({ table: 'wallets', vacuum: true });
    expect(choice!.urgency).toBeCloseTo(510 / 50.4);
  });
});
