"""Build Vigil's C extensions: the exact PDQ core (src/vigil/signals/_pdqcore.c) and the
PDQ range-search loops (src/vigil/index/_mihcore.c; why C: see that file's header)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vigil.signals._pdqcore",
            sources=["src/vigil/signals/_pdqcore.c"],
            # Exactness: no fused multiply-add, no reassociation of float sums.
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math", "-std=c99"],
            optional=False,
        ),
        Extension(
            "vigil.index._mihcore",
            sources=["src/vigil/index/_mihcore.c"],
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math", "-std=c99"],
            # The index has an exact numpy fallback; a failed build must not block install.
            optional=True,
        ),
    ]
)
