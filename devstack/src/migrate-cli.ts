import { createPool } from '@linkport/common';
import { migrate, rollback, setRolePasswords, status, MigrationError } from '@linkport/migrations';
import { localDefaults } from './local.ts';

// `npm run db:migrate | db:rollback [n] | db:status`. Targets DATABASE_URL (an admin URL), or the
// `npm start` stack's embedded PostgreSQL when unset.
const [cmd, arg] = process.argv.slice(2);
const url = process.env.DATABASE_URL ?? localDefaults.databaseUrl;
const pool = createPool(url, { max: 2, applicationName: 'linkport-migrate' });

async function main(): Promise<void> {
  switch (cmd) {
    case 'migrate': {
      const { applied } = await migrate(pool, { log: (l) => console.log(l) });
      await setRolePasswords(pool, localDefaults.rolePasswords(process.env));
      console.log(applied.length ? `${applied.length} migration(s) applied` : 'database is up to date');
      break;
    }
    case 'rollback': {
      const n = arg === undefined ? 1 : Number(arg);
      const done = await rollback(pool, n, { log: (l) => console.log(l) });
      console.log(`${done.length} migration(s) rolled back`);
      break;
    }
    case 'status': {
      for (const r of await status(pool)) console.log(`${r.state.padEnd(8)} ${r.version}${r.name ? `_${r.name}` : ''}`);
      break;
    }
    default:
      throw new MigrationError('usage: db:migrate | db:rollback [n] | db:status');
  }
}

main()
  .catch((err: unknown) => {
    const e = err as { code?: string; message?: string };
    if (err instanceof MigrationError) console.error(`error: ${err.message}`);
    else if (e.code === 'ECONNREFUSED') console.error(`error: cannot connect to ${new URL(url).host}: start the stack (npm start) or set DATABASE_URL`);
    else console.error(`error: ${e.message ?? String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => void pool.end());
