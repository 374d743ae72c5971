import { measureWindow } from '../../lib/proc.js';
import { runPgbench } from '../../lib/pgbench.js';
const w = measureWindow({ servicePid: null, dbName: 'bench' });
const r = await runPgbench({ url: 'postgres://postgres@127.0.0.1:5432/bench', scriptDir: 'bench/pg-limit', script: 'list.sql', clients: 32, seconds: 4, vars: { ubase: 100000, users: 1000 } });
console.log(r.tps, w.stop());
