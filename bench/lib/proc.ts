import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  rssKb: number;
  hwmKb: number;
  /** utime + stime, seconds */
  cpuS: number;
  /** stime alone: time in the kernel (for the service: mostly socket reads and writes) */
  sysS: number;
}

function sampleProcess(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    // The command may hold spaces and parentheses: fields are counted after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), cpuS: ticks / CLK_TCK, sysS: Number(fields[12]) / CLK_TCK };
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), for how loaded it was. */
function sampleMachine(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

export interface WindowStats {
  seconds: number;
  /** Cores the service used on average (utime+stime / wall time). */
  serviceCpuCores: number;
  /** The share of the service's CPU spent in the kernel (stime): socket I/O, mostly. */
  serviceKernelShare: number;
  /** Cores the bench database's PostgreSQL backends (and the shared background writers) used. */
  postgresCpuCores: number;
  /** Cores the load generator used: this process (autocannon) and pgbench. */
  loadgenCpuCores: number;
  /** Cores busy on the whole machine. */
  machineBusyCores: number;
  /** Cores used by everything else on the machine (other work sharing it): noise. */
  otherCpuCores: number;
  rssPeakMb: number;
  rssEndMb: number;
  /** VmHWM: the service's peak RSS since it started. */
  hwmMb: number;
  /** RSS every `everyMs`, for the soak run. */
  rssSeriesMb: number[];
}

type Kind = 'service' | 'postgres' | 'loadgen';

/**
 * Samples from start to stop(): the service's RSS, and where the machine's CPU
 * went — the service, PostgreSQL's backends for the bench database, the load
 * generator, and anything else (the machine is shared; that share is noise).
 */
export function measureWindow(o: { servicePid: number | null; dbName: string | null; everyMs?: number }) {
  const kinds = new Map<number, Kind | null>();
  const classify = (pid: number): Kind | null => {
    if (kinds.has(pid)) return kinds.get(pid) ?? null;
    let kind: Kind | null = null;
    if (pid === o.servicePid) kind = 'service';
    else if (pid === process.pid) kind = 'loadgen';
    else {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (/^(\S*\/)?pgbench /.test(cmd))
          kind = 'loadgen'; // also Debian's /usr/lib/postgresql/NN/bin/pgbench
        else if (
          o.dbName &&
          /^postgres: /.test(cmd) &&
          (cmd.includes(` ${o.dbName} `) || /: (checkpointer|background writer|walwriter)/.test(cmd))
        )
          kind = 'postgres';
      } catch {
        kind = null;
      }
    }
    kinds.set(pid, kind);
    return kind;
  };
  const last = new Map<number, number>();
  const spent: Record<Kind, number> = { service: 0, postgres: 0, loadgen: 0 };
  const scan = (first: boolean) => {
    let pids: number[];
    try {
      pids = readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      const kind = classify(pid);
      if (!kind) continue;
      const cpu = sampleProcess(pid)?.cpuS;
      if (cpu === undefined) continue;
      const before = last.get(pid);
      // A process first seen after the start (a pgbench backend) spent all its CPU inside the window.
      if (before !== undefined) spent[kind] += cpu - before;
      else if (!first) spent[kind] += cpu;
      last.set(pid, cpu);
    }
  };

  const t0 = process.hrtime.bigint();
  const m0 = sampleMachine();
  scan(true);
  const s0 = o.servicePid ? sampleProcess(o.servicePid) : null;
  let peak = s0?.rssKb ?? 0;
  let lastSvc = s0;
  const series: number[] = [];
  const timer = setInterval(() => {
    scan(false);
    const s = o.servicePid ? sampleProcess(o.servicePid) : null;
    if (!s) return;
    lastSvc = s;
    peak = Math.max(peak, s.rssKb);
    series.push(s.rssKb);
  }, o.everyMs ?? 250);
  timer.unref();
  return {
    stop(): WindowStats {
      clearInterval(timer);
      scan(false);
      const s1 = (o.servicePid ? sampleProcess(o.servicePid) : null) ?? lastSvc;
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const m1 = sampleMachine();
      const busy = ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * CORES;
      const mb = (kb: number) => Math.round(kb / 102.4) / 10;
      const cores = (k: Kind) => spent[k] / seconds;
      return {
        seconds,
        serviceCpuCores: round2(cores('service')),
        serviceKernelShare: s0 && s1 && s1.cpuS > s0.cpuS ? round2((s1.sysS - s0.sysS) / (s1.cpuS - s0.cpuS)) : 0,
        postgresCpuCores: round2(cores('postgres')),
        loadgenCpuCores: round2(cores('loadgen')),
        machineBusyCores: round2(busy),
        otherCpuCores: round2(Math.max(0, busy - cores('service') - cores('postgres') - cores('loadgen'))),
        rssPeakMb: mb(Math.max(peak, s1?.rssKb ?? 0)),
        rssEndMb: mb(s1?.rssKb ?? 0),
        hwmMb: mb(s1?.hwmKb ?? 0),
        rssSeriesMb: series.map(mb),
      };
    },
  };
}

const CORES = (() => {
  try {
    return (
      readFileSync('/proc/cpuinfo', 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('processor')).length || 1
    );
  } catch {
    return 1;
  }
})();

const round2 = (n: number) => Math.round(n * 100) / 100;
