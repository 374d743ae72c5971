import { formatMoney } from '/tmp/money.old.ts';
const t = performance.now(); for (let i = 0; i < 20000; i++) formatMoney(1999 + i, 'USD'); console.log(((performance.now() - t) * 1000 / 20000).toFixed(2), 'µs per formatMoney');
