//! Task logs (issue 8): pieces of what tasks printed, stored in order per instance, read by
//! seq, one task's or all, and kept across a reopen.

use super::Fixture;
use nagare::functions::log::Stream;
use nagare::store::{LogChunk, StoredLog};

fn piece(instance: &str, task: &str, effect: u64, stream: Stream, text: &str) -> LogChunk {
    LogChunk {
        instance: instance.into(),
        task: task.into(),
        effect,
        stream,
        at: 1_700_000_000_000 + effect as i64,
        text: text.into(),
    }
}

fn texts(pieces: &[StoredLog]) -> Vec<&str> {
    pieces.iter().map(|p| p.chunk.text.as_str()).collect()
}

pub async fn logs_are_read_in_order_by_instance_and_task(f: &Fixture) {
    let store = f.open().await;
    store.append_logs(&[]).await.unwrap();
    assert!(store.logs("a", None, 0, 100).await.unwrap().is_empty());
    let first = [
        piece("a", "/do/0/x", 3, Stream::Stdout, "one\n"),
        piece("b", "/do/0/x", 3, Stream::Stdout, "other instance\n"),
        piece("a", "/do/1/y", 5, Stream::Stderr, "two ✓ \u{FFFD}\n"),
    ];
    store.append_logs(&first).await.unwrap();
    store
        .append_logs(&[piece("a", "/do/0/x", 7, Stream::Stdout, "three\n")])
        .await
        .unwrap();

    let all = store.logs("a", None, 0, 100).await.unwrap();
    assert_eq!(texts(&all), ["one\n", "two ✓ \u{FFFD}\n", "three\n"]);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "{all:?}");
    assert_eq!(all[1].chunk, first[2], "every field round-trips");
    let x = store.logs("a", Some("/do/0/x"), 0, 100).await.unwrap();
    assert_eq!(texts(&x), ["one\n", "three\n"]);
    assert_eq!(x.iter().map(|p| p.chunk.effect).collect::<Vec<_>>(), [3, 7]);
    // Paging: after the first piece, one at a time.
    let page = store.logs("a", None, all[0].seq, 1).await.unwrap();
    assert_eq!(texts(&page), ["two ✓ \u{FFFD}\n"]);
    assert!(
        store
            .logs("a", None, all[2].seq, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .logs("a", Some("/nope"), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.logs("b", None, 0, 0).await.unwrap().len(), 0);

    drop(store);
    let again = f.open().await;
    let kept = again.logs("a", None, 0, 100).await.unwrap();
    assert_eq!(kept, all, "kept across a reopen");
}

pub async fn a_big_batch_of_log_pieces_is_paged(f: &Fixture) {
    let store = f.open().await;
    let batch: Vec<LogChunk> = (0..2500)
        .map(|i| piece("big", "/do/0/x", 1, Stream::Stdout, &format!("line {i}\n")))
        .collect();
    store.append_logs(&batch).await.unwrap();
    let mut after = 0;
    let mut read = Vec::new();
    loop {
        let page = store.logs("big", None, after, 5000).await.unwrap();
        assert!(page.len() <= nagare::store::LOG_PAGE_MAX as usize);
        let Some(last) = page.last() else { break };
        after = last.seq;
        read.extend(page.into_iter().map(|p| p.chunk.text));
    }
    assert_eq!(read.len(), 2500);
    assert_eq!(read[0], "line 0\n");
    assert_eq!(read[2499], "line 2499\n");
}
