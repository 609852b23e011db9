// On server start: Better Auth's migrations create or update its tables before the first request.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { getAuth } = await import("./lib/auth");
    await getAuth();
  }
}
