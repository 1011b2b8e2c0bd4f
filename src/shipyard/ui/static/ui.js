// What the UI's pages do in the browser, all from this file: the content security policy
// runs no inline script. Loaded with `defer`, so it runs once the page is parsed.
for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
  select.addEventListener("change", () => select.form.submit());
}
// Charts: each div.plot[data-plot] holds {data, layout, config} as plotly.js reads them.
for (const chart of document.querySelectorAll("div.plot[data-plot]")) {
  const spec = JSON.parse(chart.dataset.plot);
  Plotly.newPlot(chart, spec.data, spec.layout, spec.config);
}
