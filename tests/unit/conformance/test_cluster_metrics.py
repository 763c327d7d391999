"""Reading Prometheus text and judging accelerator metrics the way the upstream test does."""

from conformance.cluster.exposition import assess_exposition, parse_exposition


def test_parses_labels_escapes_comments_and_timestamps():
    text = (
        "# HELP x help\n# TYPE x gauge\n"
        'x{a="1",b="quote \\" and \\\\ slash"} 2.5 1700000000000\n'
        "plain 7\n"
        'trailing{a="1",} 3\n'
        "not a metric line\n"
        'broken{a="1" 4\n'
        "nan_value NaN\n"
    )
    samples = {s.name: s for s in parse_exposition(text)}
    assert samples["x"].labels == {"a": "1", "b": 'quote " and \\ slash'}
    assert samples["x"].value == 2.5
    assert samples["plain"].labels == {}
    assert samples["trailing"].labels == {"a": "1"}
    assert "broken" not in samples
    assert "nan_value" in samples


def test_dcgm_metrics_are_complete_with_optional_families():
    text = (
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 10\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b"} 90\n'
        'DCGM_FI_DEV_FB_FREE{gpu="0",UUID="GPU-a"} 20000\n'
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a"} 70\n'
        'DCGM_FI_PROF_NVLINK_TX_BYTES{gpu="0",UUID="GPU-a"} 1\n'
    )
    assessment = assess_exposition(text)
    assert assessment.complete
    assert assessment.utilisation == ("DCGM_FI_DEV_GPU_UTIL", "gpu")
    assert assessment.memory == ("DCGM_FI_DEV_FB_FREE", "gpu")
    assert set(assessment.optional) == {"power", "interconnect"}
    assert {"gpu=0", "gpu=1"} <= assessment.devices


def test_other_vendors_match_by_pattern_and_device_label():
    text = 'gpu_gfx_activity_util{card_id="0"} 5\namd_gpu_vram_used{card_id="0"} 100\n'
    assessment = assess_exposition(text)
    assert assessment.complete
    assert assessment.memory == ("amd_gpu_vram_used", "card_id")


def test_metrics_without_a_device_label_do_not_count():
    assessment = assess_exposition('node_cpu_util{instance="a"} 1\nprocess_memory_used 3\n')
    assert not assessment.utilisation and not assessment.memory
