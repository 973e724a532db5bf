import asyncio
import asyncio.selector_events
import socket

from terrarium import _asyncio


def test_a_loop_runs_timers_and_tasks_without_a_self_pipe(monkeypatch):
    loop_class = asyncio.selector_events.BaseSelectorEventLoop
    for name in ("_make_self_pipe", "_close_self_pipe", "_write_to_self"):
        monkeypatch.setattr(loop_class, name, getattr(loop_class, name))
    monkeypatch.delattr(loop_class, "_terrarium_without_self_pipe", raising=False)

    def no_socketpair(*args):
        raise PermissionError(2, "Permission denied")

    monkeypatch.setattr(socket, "socketpair", no_socketpair)
    _asyncio.install()
    assert loop_class._terrarium_without_self_pipe
    monkeypatch.delattr(loop_class, "_terrarium_without_self_pipe")

    async def main():
        queue = asyncio.Queue()

        async def produce(i):
            await asyncio.sleep(0.01 * i)
            await queue.put(i)

        await asyncio.gather(*(produce(i) for i in range(3)))
        asyncio.get_running_loop().call_soon_threadsafe(queue.put_nowait, 9)
        await asyncio.sleep(0)
        return [queue.get_nowait() for _ in range(4)]

    loop = asyncio.SelectorEventLoop()
    try:
        assert loop.run_until_complete(main()) == [0, 1, 2, 9]
    finally:
        loop.close()


def test_nothing_changes_where_a_socketpair_can_be_made():
    before = asyncio.selector_events.BaseSelectorEventLoop._make_self_pipe
    _asyncio.install()
    assert asyncio.selector_events.BaseSelectorEventLoop._make_self_pipe is before


def test_without_threads_the_default_executor_runs_work_inline(monkeypatch):
    import asyncio.base_events
    import threading

    loop_class = asyncio.base_events.BaseEventLoop
    monkeypatch.setattr(loop_class, "run_in_executor", loop_class.run_in_executor)
    monkeypatch.delattr(loop_class, "_terrarium_inline_executor", raising=False)
    monkeypatch.setattr(_asyncio, "_can_start_thread", lambda: False)
    _asyncio._install_inline_executor()
    monkeypatch.delattr(loop_class, "_terrarium_inline_executor")

    def where(x):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return threading.get_ident(), x * 2
        raise AssertionError("a worker thread sees no running loop")

    def fail():
        raise KeyError("inside")

    async def main():
        loop = asyncio.get_running_loop()
        first = await loop.run_in_executor(None, where, 4)
        second = await asyncio.to_thread(where, 5)
        try:
            await asyncio.to_thread(fail)
        except KeyError as error:
            failed = str(error)
        return first, second, failed, loop._default_executor

    main_thread = threading.get_ident()
    first, second, failed, executor = asyncio.run(main())
    assert first == (main_thread, 8) and second == (main_thread, 10)
    assert failed == "'inside'"
    assert executor is None, "no pool was made, so asyncio.run's shutdown starts no thread"


def test_without_threads_asgiref_leaves_a_thread_sensitive_context_inline(monkeypatch):
    import concurrent.futures
    import threading

    from asgiref.sync import ThreadSensitiveContext, sync_to_async

    def no_threads(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_threads)
    monkeypatch.setattr(_asyncio, "_can_start_thread", lambda: False)
    pool = concurrent.futures.ThreadPoolExecutor
    monkeypatch.setattr(pool, "submit", pool.submit)
    monkeypatch.delattr(pool, "_terrarium_inline", raising=False)
    monkeypatch.setattr(ThreadSensitiveContext, "__aexit__", ThreadSensitiveContext.__aexit__)
    monkeypatch.delattr(ThreadSensitiveContext, "_terrarium_inline", raising=False)
    _asyncio.run_worker_threads_inline()
    monkeypatch.delattr(pool, "_terrarium_inline")
    monkeypatch.delattr(ThreadSensitiveContext, "_terrarium_inline")

    main_thread = threading.get_ident()

    def sync_view():
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return threading.get_ident()
        raise AssertionError("Django's async-unsafe check would refuse this")

    async def main():
        async with ThreadSensitiveContext():
            return await sync_to_async(sync_view)(), asyncio.get_running_loop() is not None

    assert asyncio.run(main()) == (main_thread, True)
