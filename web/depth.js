// The cumulative depth chart: bids and asks as step areas outward from the spread, drawn on a
// canvas (no library). A picture, so prices and sizes become numbers here only.
export function drawDepth(canvas, bids, asks) {
  const cumulative = (levels) => {
    let total = 0;
    return levels.map(([price, quantity]) => [Number(price), (total += Number(quantity))]);
  };
  const b = cumulative(bids); // best (highest) first
  const a = cumulative(asks); // best (lowest) first
  canvas.dataset.bids = String(b.length);
  canvas.dataset.asks = String(a.length);
  const maxDepth = Math.max(b.length ? b[b.length - 1][1] : 0, a.length ? a[a.length - 1][1] : 0);
  canvas.dataset.maxDepth = String(maxDepth);
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  if (!maxDepth) {
    return;
  }
  const prices = [...b, ...a].map(([p]) => p);
  const low = Math.min(...prices);
  const high = Math.max(...prices);
  const span = high - low || 1;
  const x = (price) => ((price - low) / span) * (width - 2) + 1;
  const y = (depth) => height - 14 - (depth / maxDepth) * (height - 20);
  const area = (points, colour, fill) => {
    if (!points.length) {
      return;
    }
    ctx.beginPath();
    ctx.moveTo(x(points[0][0]), height - 14);
    let previous = 0;
    for (const [price, depth] of points) {
      ctx.lineTo(x(price), y(previous));
      ctx.lineTo(x(price), y(depth));
      previous = depth;
    }
    ctx.lineTo(x(points[points.length - 1][0]), height - 14);
    ctx.closePath();
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = colour;
    ctx.stroke();
  };
  area(b, "#3fb67a", "rgba(63,182,122,0.25)");
  area(a, "#e0565b", "rgba(224,86,91,0.25)");
  ctx.fillStyle = "#8b95a5";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(String(low), 2, height - 2);
  const label = String(high);
  ctx.fillText(label, width - ctx.measureText(label).width - 2, height - 2);
}
