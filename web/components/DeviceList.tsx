"use client";

import { useState } from "react";
import { ApiError, sessions } from "@/lib/client";
import type { Device } from "@/lib/types";
import { LocalTime } from "./LocalTime";

/**
 * Where the user is signed in, this device first. Each other device can be signed out here; so
 * can every device at once, this one included.
 */
export function DeviceList({ initial }: { initial: Device[] }) {
  const [devices, setDevices] = useState(initial);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function signOut(device: Device) {
    setBusy(device.id);
    setError(null);
    try {
      await sessions.signOut(device.id);
    } catch (e) {
      // 404: that session had already ended.
      if (!(e instanceof ApiError && e.status === 404)) {
        setError(e instanceof ApiError ? e.message : "Something went wrong. Try again.");
        setBusy(null);
        return;
      }
    }
    setDevices((current) => current.filter((d) => d.id !== device.id));
    setBusy(null);
  }

  async function signOutEverywhere() {
    setBusy("everywhere");
    await sessions.signOutEverywhere();
  }

  return (
    <>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className="devices" aria-label="Signed-in devices">
        {devices.map((device) => (
          <li key={device.id} className="device">
            <div className="body" id={`device-${device.id}`}>
              <p className="title">
                {device.browser} on {device.os}
                {device.current && <span className="badge">This device</span>}
              </p>
              <p className="meta">
                <span>
                  Signed in <LocalTime iso={device.signedInAt} />
                </span>{" "}
                <span>
                  Last active <LocalTime iso={device.lastActiveAt} />
                </span>
              </p>
            </div>
            {!device.current && (
              <button
                type="button"
                className="secondary small"
                aria-describedby={`device-${device.id}`}
                disabled={busy !== null}
                onClick={() => void signOut(device)}
              >
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <section className="everywhere" aria-labelledby="everywhere">
        <h2 id="everywhere">Sign out everywhere</h2>
        <p>
          Ends every session, this one included, and stops every device&apos;s access to your tasks within seconds. Use it
          if you lost a device or think someone else is signed in.
        </p>
        <button type="button" className="danger" disabled={busy !== null} onClick={() => void signOutEverywhere()}>
          {busy === "everywhere" ? "Signing out…" : "Sign out everywhere"}
        </button>
      </section>
    </>
  );
}
