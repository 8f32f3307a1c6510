import { openEmbedded, openPostgres } from '/work/main/src/db/connect.ts'
import { migrate, migrationState } from '/work/main/src/db/migrate.ts'
for (const open of [() => openEmbedded('memory://'), () => openPostgres('postgres://postgres@127.0.0.1:5432/test')]) {
  const db = await open()
  try {
    await db.sql`drop schema public cascade`; await db.sql`create schema public`
    await migrate(db)
    await migrate(db)
    console.log(await migrationState(db.sql), (await db.sql`select count(*) from users`)[0])
  } catch (e) { console.error('ERR', e) }
  await db.close()
}
