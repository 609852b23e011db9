// On server start: the configuration is checked and Better Auth's migrations create or update its
// tables before the first request. A configuration error stops the server with one line saying
// what is wrong (Next.js would otherwise keep running without serving).
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { getAuth } = await import("./lib/auth");
    try {
      await getAuth();
    } catch (error) {
      console.error(`taskgate: the front end cannot start: ${error instanceof Error ? error.message : error}`);
      process.exit(1);
    }
  }
}
