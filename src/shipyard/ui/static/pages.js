// Plotly's responsive figures follow window resizes only: once the page is laid out, tell
// them its final size (a figure drawn while the page was still loading may have guessed).
window.addEventListener("load", () => window.dispatchEvent(new Event("resize")));
