//! Criterion micro-benchmarks of the host's hot parts, without the network:
//! mount resolution, host routing (1 host against 1,000), request/response
//! marshaling, and one dispatch into a
//! warm sandboxed instance (plus a fresh instance per call, as request
//! isolation does).
//!
//!   cargo bench -p terrarium --bench hot_paths
//!
//! The first run builds the hello example's component into
//! `target/bench-cache` (about 20 s); later runs load it from there.

#![allow(missing_docs)] // criterion_main! generates an undocumented `main`

use std::{
    hint::black_box,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group, criterion_main};
use terrarium::{
    config::Outbound,
    hosts::{HostRouter, RequestHost, ServedHost},
    http::{marshal, responses},
    mounts::MountTable,
    paths::CanonicalPath,
    sandbox::{
        AppTemplate, EngineCapacity, Exchange, Grants, GuestError, GuestRequest, GuestResponse, LogLimit,
        MemoryReset, Sandbox, StreamLimits, net::OutboundAccess,
    },
    sessions::Change,
};
use terrarium_python_wasi::{AppSource, BuildCache, build_app};

fn mount_resolve(c: &mut Criterion) {
    let table = MountTable::new(
        [
            "/",
            "/api",
            "/api/v2",
            "/blog",
            "/static",
            "/admin/tools",
            "/shop/cart",
        ]
        .into_iter()
        .map(|path| (path.to_owned(), path)),
    );
    let mut group = c.benchmark_group("mount_resolve");
    for raw in ["/", "/api/v2/users/42", "/static/css/site.css", "/nowhere/at/all"] {
        group.bench_function(raw, |b| {
            b.iter(|| {
                let path = CanonicalPath::parse(black_box(raw)).unwrap();
                black_box(table.resolve(&path).map(|r| (r.target, r.path_info)));
            })
        });
    }
    group.finish();
}

/// A request's host made canonical and routed, then its path resolved, on
/// a site of `hosts` tenants (each an exact name with `/` and `/api`, every
/// tenth a wildcard too) beside a default site: the cost must not grow with
/// the number of hosts.
fn host_routing(c: &mut Criterion) {
    let mut group = c.benchmark_group("host_routing");
    for hosts in [1, 1000] {
        let tenants: Vec<(String, Vec<ServedHost>)> = (0..hosts)
            .map(|n| {
                let mut claimed = vec![format!("tenant-{n}.example.com").parse().unwrap()];
                if n % 10 == 0 {
                    claimed.push(format!("*.t{n}.example.net").parse().unwrap());
                }
                (format!("tenant-{n}"), claimed)
            })
            .collect();
        let none: Vec<ServedHost> = Vec::new();
        let mut mounts: Vec<(&str, &[ServedHost], String)> = vec![("/", &none[..], "default".to_owned())];
        for (name, claimed) in &tenants {
            mounts.push(("/", &claimed[..], name.clone()));
            mounts.push(("/api", &claimed[..], format!("{name}-api")));
        }
        let router = HostRouter::new(mounts);
        let last = hosts - 1;
        for (label, host) in [
            ("exact", format!("tenant-{last}.example.com")),
            ("exact_mixed_case", format!("Tenant-{last}.Example.com:8080")),
            ("wildcard", "acme.t0.example.net".to_owned()),
            ("default", "elsewhere.example.org".to_owned()),
        ] {
            group.bench_function(format!("{hosts}_hosts/{label}"), |b| {
                b.iter(|| {
                    let host = RequestHost::parse(black_box(&host)).unwrap();
                    let table = router.route(host.as_ref(), 80).unwrap();
                    let path = CanonicalPath::parse(black_box("/api/users/42")).unwrap();
                    black_box(table.mounts.resolve(&path).map(|r| r.target.len()));
                })
            });
        }
    }
    group.finish();
}

fn browser_request() -> http::Request<()> {
    http::Request::builder()
        .method("GET")
        .uri("/hello/world?lang=en&page=2")
        .header("host", "example.com:8080")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
        )
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .header("accept-language", "en-US,en;q=0.5")
        .header("accept-encoding", "gzip, deflate, br")
        .header("connection", "keep-alive")
        .header("cookie", "theme=dark; visits=12")
        .body(())
        .unwrap()
}

fn guest_request(parts: &http::request::Parts) -> GuestRequest {
    marshal::to_guest(
        parts,
        bytes::Bytes::new(),
        &marshal::RequestContext {
            request_id: "bench-000001",
            remote: "127.0.0.1:40000".parse().unwrap(),
            script_name: "",
            path_info: "/hello/world",
            full_path: "/hello/world",
            session: None,
            more_body: false,
        },
    )
    .unwrap()
}

fn marshaling(c: &mut Criterion) {
    let (parts, ()) = browser_request().into_parts();
    c.bench_function("marshal/request_to_guest", |b| {
        b.iter(|| black_box(guest_request(black_box(&parts))))
    });
    let answer = GuestResponse {
        status: 200,
        headers: [
            "content-type\0text/html; charset=utf-8\n",
            "set-cookie\0visits=13; Path=/\n",
            "cache-control\0no-store\n",
        ]
        .concat()
        .into_bytes(),
        body: vec![b'x'; 2048],
        more_body: false,
        session: Change::Unchanged,
    };
    c.bench_function("marshal/response_from_guest", |b| {
        b.iter(|| black_box(responses::from_guest(black_box(answer.clone())).unwrap()))
    });
}

/// Builds (or loads from `target/bench-cache`) the hello example, linked and ready.
fn hello_template(sandbox: &Sandbox) -> AppTemplate {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cache = BuildCache::new(repo.join("target/bench-cache"));
    let source = AppSource {
        name: "hello".into(),
        dir: repo.join("examples/hello/apps/hello"),
        entry: "app:app".into(),
        warm_up: ["/", "/hello/world"].map(String::from).to_vec(),
        env: Vec::new(),
        data_in_app: None,
        build: Vec::new(),
        snapshot: Default::default(),
    };
    let built = build_app(&source, &cache, &mut |_| {}).expect("the hello example builds");
    let compiled = sandbox.compile(&built.component).unwrap();
    sandbox
        .template(
            "hello",
            compiled,
            Grants {
                mounts: built.mounts,
                data: None,
                tmp: None,
                env: Vec::new(),
                masker: Default::default(),
                log_limit: Arc::new(LogLimit::new(tracing::Level::INFO, 1000)),
                memory_cap: 256 << 20,
                outbound: Arc::new(OutboundAccess::new(Outbound::default()).unwrap()),
            },
            built.start,
        )
        .unwrap()
}

fn dispatch(c: &mut Criterion) {
    let sandbox = Sandbox::new(EngineCapacity {
        instances: 16,
        max_memory: 256 << 20,
        reset: MemoryReset::on_this_host(false, true).reset,
    })
    .unwrap();
    let template = Arc::new(hello_template(&sandbox));
    let (parts, ()) = browser_request().into_parts();
    let request = guest_request(&parts);
    let (bare_parts, ()) = http::Request::get("/hello/world")
        .header("host", "example.com")
        .body(())
        .unwrap()
        .into_parts();
    let bare_request = guest_request(&bare_parts);
    let timeout = Duration::from_secs(30);
    let id: Arc<str> = Arc::from("bench-000001");

    // One worker thread, as the server's guests run: the calls below are
    // driven to completion on it, with no hand-off to other threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seat = || sandbox.budget().try_seat().unwrap();
    let mut warm = runtime.block_on(template.instantiate(seat())).unwrap();
    let mut group = c.benchmark_group("dispatch");
    group.bench_function("warm_instance", |b| {
        b.iter(|| {
            let answer = answer_of(runtime.block_on(warm.call(
                &id,
                &request,
                exchange(),
                Instant::now() + timeout,
                timeout,
            )));
            assert_eq!(answer.status, 200);
        })
    });
    group.bench_function("warm_instance_one_header", |b| {
        b.iter(|| {
            let answer = answer_of(runtime.block_on(warm.call(
                &id,
                &bare_request,
                exchange(),
                Instant::now() + timeout,
                timeout,
            )));
            assert_eq!(answer.status, 200);
        })
    });
    group.bench_function("instantiate_only", |b| {
        b.iter(|| {
            black_box(runtime.block_on(template.instantiate(seat())).unwrap());
        })
    });
    group.bench_function("fresh_instance", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut instance = template.instantiate(seat()).await.unwrap();
                let answer = answer_of(
                    instance
                        .call(&id, &request, exchange(), Instant::now() + timeout, timeout)
                        .await,
                );
                assert_eq!(answer.status, 200);
            })
        })
    });
    group.finish();
}

criterion_group!(benches, mount_resolve, host_routing, marshaling, dispatch);
criterion_main!(benches);

/// An exchange for one call whose body came whole.
fn exchange() -> Exchange {
    let limits = StreamLimits {
        gap: Duration::from_secs(30),
        whole: Duration::from_secs(3600),
    };
    Exchange::new(None, limits).0
}

/// The whole response a call returned.
fn answer_of(result: Result<GuestResponse, GuestError>) -> GuestResponse {
    result.unwrap()
}
