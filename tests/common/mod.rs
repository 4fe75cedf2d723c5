//! Helpers shared by integration tests.

/// Serves `app` on 127.0.0.1 (a free port) from its own thread and runtime, so a test can
/// run the oinspect binary against it; returns `http://127.0.0.1:PORT`. The server lives
/// until the test process ends.
pub fn serve_on_thread(app: axum::Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    format!("http://{addr}")
}
