/** Reading the API from components: load, keep the last good data on error, poll when asked. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { type ApiError, request } from './api.ts';
import type { Trunk } from './types.ts';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload(): void;
}

export function useResource<T>(path: string | null, pollMs?: number): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean; path: string | null }>({
    loading: true,
    path,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    // A new path drops the old data; a poll of the same path keeps it until the answer comes.
    setState((s) => (s.path === path ? { ...s, loading: true } : { loading: true, path }));
    const load = () =>
      request<T>(path).then(
        (data) => live && setState({ data, loading: false, path }),
        (error: ApiError) => live && setState((s) => ({ ...s, error, loading: false })),
      );
    void load();
    const timer = pollMs ? setInterval(load, pollMs) : undefined;
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [path, tick, pollMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.path === path;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    loading: state.loading || !current,
    reload,
  };
}

/** The stored trunks (the list pages' trunk filter and names), undefined until loaded. */
export function useTrunks(): Trunk[] | undefined {
  return useResource<{ Trunks: Trunk[] }>('/v1/Trunks').data?.Trunks;
}
