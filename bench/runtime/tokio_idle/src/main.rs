// Bytes of memory per idle spawned task in Tokio, measured exactly as runtime_bench's `idle`
// case measures weft (bench/runtime/runtime_bench.cc): a fresh 2-worker runtime; inside one
// driver task, 1,000,000 tasks each awaiting a oneshot receiver; once all of them are
// suspended, (RSS delta) / 1e6 from /proc/self/statm. The handle and sender vectors are touched
// and malloc_trim(0) is called before the baseline. Then the senders are dropped and every
// task is joined (each must see the closed channel).
//
// Usage: tokio-idle        prints "# idle bytes_per_task=N (tokio)"
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

extern "C" {
    fn malloc_trim(pad: usize) -> i32;
    fn sysconf(name: i32) -> i64;
}
const SC_PAGESIZE: i32 = 30; // Linux
const TASKS: usize = 1_000_000;

fn rss_bytes() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let resident: i64 = statm.split_whitespace().nth(1).expect("statm field").parse().expect("number");
    resident * unsafe { sysconf(SC_PAGESIZE) }
}

async fn idle_case() -> f64 {
    let mut handles: Vec<Option<tokio::task::JoinHandle<()>>> = (0..TASKS).map(|_| None).collect();
    let mut senders: Vec<Option<oneshot::Sender<()>>> = (0..TASKS).map(|_| None).collect();
    let parked = Arc::new(AtomicUsize::new(0));
    unsafe { malloc_trim(0) };
    let before = rss_bytes();
    for i in 0..TASKS {
        let (tx, rx) = oneshot::channel::<()>();
        senders[i] = Some(tx);
        let parked = parked.clone();
        handles[i] = Some(tokio::spawn(async move {
            parked.fetch_add(1, Ordering::Relaxed);
            assert!(rx.await.is_err(), "idle: receiver sees the dropped sender");
        }));
    }
    while parked.load(Ordering::Relaxed) < TASKS {
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let after = rss_bytes();
    senders.clear();
    for h in handles.iter_mut() {
        h.take().unwrap().await.expect("idle: join");
    }
    (after - before) as f64 / TASKS as f64
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let per_task = rt.block_on(async { tokio::spawn(idle_case()).await.expect("driver") });
    println!("# idle bytes_per_task={:.1} (tokio)", per_task);
}
