"""Makes an HTML file exported by nbconvert portable: its math renders on any
machine, offline too.

nbconvert's template loads MathJax 2 from a local file path
(file:///usr/share/javascript/mathjax/...), which exists only where Debian's
libjs-mathjax is installed. This replaces that loader with MathJax 3's
single-file TeX-to-SVG build, inlined (SVG output needs no web fonts), and its
configuration for the delimiters Jupyter uses.

Usage: portable-html.py MATHJAX_TEX_SVG_JS FILE.html...
"""
import re
import sys

CONFIG = """<style>pre, code { tab-size: 4; -moz-tab-size: 4; }</style>
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
        processEscapes: true, processEnvironments: true},
  svg: {fontCache: 'global'},
  options: {skipHtmlTags: ['script', 'noscript', 'style', 'textarea', 'pre', 'code']}
};
</script>
"""


def main():
    mathjax = open(sys.argv[1], encoding="utf-8").read()
    if "</script" in mathjax.lower():
        sys.exit("portable-html: the MathJax build contains </script> and cannot be inlined")
    for path in sys.argv[2:]:
        html = open(path, encoding="utf-8").read()
        block = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
        if not block.search(html):
            sys.exit(f"portable-html: {path}: no MathJax block found: has the nbconvert template changed?")
        inline = CONFIG + '<script id="MathJax-script">' + mathjax + "</script>\n"
        html = block.sub(lambda m: "<!-- MathJax 3, inlined by kernel-setup/portable-html.py -->\n" + inline, html, count=1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)


if __name__ == "__main__":
    main()
