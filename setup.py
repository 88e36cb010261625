"""Build Vigil's one C extension, the exact PDQ core (see src/vigil/signals/_pdqcore.c)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vigil.signals._pdqcore",
            sources=["src/vigil/signals/_pdqcore.c"],
            # Exactness: no fused multiply-add, no reassociation of float sums.
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math", "-std=c99"],
            optional=False,
        )
    ]
)
