// The product sheet over the video: images, price (compare-at struck through), variant picker, stock,
// rating, "Add to cart" and "Buy now". Buy now continues in the sheet — address (prefilled from the
// address book), totals, the sandbox card form — and ends with the order confirmation, while the video
// keeps playing behind. Uses the buying loop's JSON API (cart, checkout quote, checkouts, pay) with
// Idempotency-Key headers on the money-moving calls. The LIVE room opens it too (``video`` is then
// ``{id: null, products}`` and ``options.liveId`` marks the checkout as a LIVE purchase).

import { api, el, loginUrl, newKey, problem } from "./api.js";

const sheet = document.getElementById("product-sheet");
const body = document.getElementById("product-sheet-body");
const heading = document.getElementById("product-sheet-title");

let ctx = null;  // {video, product, variant, quantity, options, checkout, address}

function show(...nodes) {
  body.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
  body.scrollTop = 0;
}

function backButton(label, onClick) {
  return el("button", { type: "button", class: "link-btn sheet-back", text: `‹ ${label}`, onclick: onClick });
}

function stars(rating) {
  const full = Math.round(rating);
  return "★".repeat(full) + "☆".repeat(5 - full);
}

// --- product list (shop bag) ----------------------------------------------------------------------

function productList() {
  heading.textContent = `${ctx.options.listTitle || "Products in this video"} (${ctx.video.products.length})`;
  show(el("ul", { class: "sheet-products" }, ctx.video.products.map((product) => el("li", {},
    el("button", { type: "button", class: "sheet-product", onclick: () => { productClick(product.id); productDetail(product.id); } },
      product.image_url ? el("img", { src: product.image_url, alt: "", loading: "lazy" })
        : el("span", { class: "pc-ph", "aria-hidden": "true", text: product.title.slice(0, 1) }),
      el("span", { class: "pc-text" },
        el("span", { class: "pc-title", text: product.title }),
        el("span", { class: "muted small", text: product.shop.name }),
        el("span", { class: "pc-price" }, el("strong", { text: product.price_display }),
          product.compare_at_display ? el("s", { text: product.compare_at_display }) : null),
        product.in_stock ? null : el("span", { class: "stock out", text: "Sold out" })))))));
}

// --- product detail -------------------------------------------------------------------------------

function matchVariant(product, chosen) {
  return product.variants.find((v) => Object.entries(chosen).every(([k, value]) => v.options[k] === value)) || null;
}

async function productDetail(productId) {
  heading.textContent = "Product";
  show(el("p", { class: "muted", role: "status", text: "Loading…" }));
  let product;
  try {
    product = await api("GET", `/api/v1/products/${productId}`);
  } catch (error) {
    show(el("p", { class: "field-error", role: "alert", text: problem(error) }));
    return;
  }
  ctx.product = product;
  ctx.quantity = 1;
  heading.textContent = product.title;
  const first = product.variants.find((v) => v.available > 0) || product.variants[0] || null;
  ctx.variant = first;

  const images = product.images.length ? product.images : (product.thumb_url ? [{ url: product.thumb_url, alt: "" }] : []);
  const gallery = el("div", { class: "sheet-gallery", tabindex: images.length > 1 ? "0" : null,
    "aria-label": images.length > 1 ? `${images.length} photos, scroll sideways` : null },
  images.length ? images.map((image) => el("img", { src: image.url, alt: image.alt || product.title, loading: "lazy" }))
    : [el("span", { class: `sheet-ph shop-${(product.shop.color || "#888").slice(1)}`, "aria-hidden": "true",
      text: product.title.slice(0, 1) })]);

  const price = el("strong", { class: "sheet-price", id: "sheet-price" });
  const compare = el("s", { class: "sheet-compare", id: "sheet-compare" });
  const stock = el("p", { class: "stock", id: "sheet-stock", role: "status" });
  const feedback = el("p", { class: "sheet-feedback", id: "sheet-feedback", role: "status" });
  const addButton = el("button", { type: "button", class: "btn btn-ghost grow", id: "sheet-add", text: "Add to cart" });
  const buyButton = el("button", { type: "button", class: "btn btn-primary grow", id: "sheet-buy", text: "Buy now" });

  const picker = el("div", { class: "sheet-picker" });
  const chosen = first ? { ...first.options } : {};
  for (const name of product.option_names || []) {
    const values = [...new Set(product.variants.map((v) => v.options[name]).filter(Boolean))];
    if (!values.length) continue;
    const group = el("fieldset", { class: "opt-group" }, el("legend", { text: name }));
    values.forEach((value) => {
      const id = `opt-${name}-${value}`.replace(/[^A-Za-z0-9_-]/g, "_");
      const input = el("input", { type: "radio", name: `opt-${name}`, value, id, checked: chosen[name] === value });
      input.addEventListener("change", () => { chosen[name] = value; update(); });
      group.append(el("label", { class: "opt", for: id }, input, el("span", { text: value })));
    });
    picker.append(group);
  }

  function update() {
    const match = matchVariant(product, chosen);
    ctx.variant = match;
    if (!match) {
      stock.textContent = "This combination is not available";
      stock.className = "stock out";
      addButton.disabled = true; buyButton.disabled = true;
      return;
    }
    price.textContent = match.price_display;
    compare.textContent = match.compare_at_display || "";
    compare.hidden = !match.compare_at_display;
    if (match.available <= 0) { stock.textContent = "Out of stock"; stock.className = "stock out"; }
    else if (match.available <= 5) { stock.textContent = `Only ${match.available} left`; stock.className = "stock low"; }
    else { stock.textContent = "In stock"; stock.className = "stock"; }
    addButton.disabled = match.available <= 0;
    buyButton.disabled = match.available <= 0;
  }

  addButton.addEventListener("click", () => addToCart(addButton, feedback));
  buyButton.addEventListener("click", () => {
    if (!ctx.options.loggedIn) { location.assign(loginUrl()); return; }
    addressStep();
  });

  const rating = product.rating_count
    ? el("p", { class: "sheet-rating" }, el("span", { class: "stars", "aria-hidden": "true", text: stars(product.rating) }),
      el("span", { text: ` ${product.rating.toFixed(1)} (${product.rating_count} ${product.rating_count === 1 ? "review" : "reviews"})` }),
      product.sold_count ? el("span", { class: "muted", text: ` · ${product.sold_count} sold` }) : null)
    : el("p", { class: "sheet-rating muted", text: product.sold_count ? `${product.sold_count} sold · No reviews yet` : "No reviews yet" });

  show(
    ctx.video.products.length > 1 ? backButton("All products", productList) : null,
    gallery,
    el("p", { class: "sheet-prices" }, price, " ", compare),
    el("h3", { class: "sheet-title", text: product.title }),
    rating,
    el("p", { class: "muted small" }, "Sold by ", el("a", { href: `/s/${product.shop.slug}`, text: product.shop.name }),
      " · ", el("a", { href: `/products/${product.id}`, text: "Full details" })),
    picker,
    stock,
    el("div", { class: "row sheet-actions" }, addButton, buyButton),
    feedback,
  );
  update();
}

async function addToCart(button, feedback) {
  if (!ctx.options.loggedIn) { location.assign(loginUrl()); return; }
  if (!ctx.variant) return;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  feedback.className = "sheet-feedback";
  try {
    const cart = await api("POST", "/api/v1/cart/items", { variant_id: ctx.variant.id, quantity: ctx.quantity });
    feedback.replaceChildren("Added to cart ✓ ", el("a", { href: "/cart", text: `View cart (${cart.item_count})` }));
    feedback.classList.add("ok");
    if (ctx.video.id && ctx.options.track) ctx.options.track(ctx.video.id, "add_to_cart");
  } catch (error) {
    feedback.textContent = problem(error);
    feedback.classList.add("error");
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// --- buy now: address, totals, card, confirmation --------------------------------------------------

function field(id, label, attrs = {}) {
  return el("div", { class: "sheet-field" }, el("label", { for: id, text: label }),
    el("input", { id, name: id.replace("bn-", ""), ...attrs }));
}

function summaryLine() {
  const v = ctx.variant;
  return el("div", { class: "sheet-line" },
    el("span", { class: "pc-text" }, el("strong", { text: ctx.product.title }),
      v && v.title && v.title !== "Default" ? el("span", { class: "muted small", text: v.title }) : null),
    el("span", { text: `${ctx.quantity} × ${v.price_display}` }));
}

function errorBox() {
  return el("p", { class: "alert alert-error", role: "alert", hidden: true });
}

function showError(box, message) {
  box.textContent = message;
  box.hidden = false;
}

async function addressStep() {
  heading.textContent = "Buy now";
  show(el("p", { class: "muted", role: "status", text: "Loading your addresses…" }));
  let addresses = [];
  try { addresses = await api("GET", "/api/v1/me/addresses"); } catch { addresses = []; }
  const preferred = addresses.find((a) => a.is_default) || addresses[0] || null;
  const errors = errorBox();
  const choices = el("div", { class: "sheet-addresses" });
  const fields = el("fieldset", { class: "sheet-address-fields", hidden: Boolean(preferred) },
    el("legend", { class: "sr-only", text: "New address" }),
    field("bn-name", "Full name", { autocomplete: "name", required: true }),
    field("bn-line1", "Address", { autocomplete: "address-line1", required: true }),
    field("bn-city", "City", { autocomplete: "address-level2", required: true }),
    field("bn-region", "Region", { placeholder: "US-CA", required: true }),
    field("bn-postal_code", "Postal code", { autocomplete: "postal-code", required: true }),
    field("bn-country", "Country", { autocomplete: "country", maxlength: "2", value: "US", required: true }));
  if (addresses.length) {
    const radios = addresses.map((a) => el("label", { class: "check" },
      el("input", { type: "radio", name: "bn-address", value: a.id, checked: a === preferred }),
      ` ${a.name}, ${a.line1}, ${a.city} ${a.postal_code}, ${a.region}`));
    radios.push(el("label", { class: "check" }, el("input", { type: "radio", name: "bn-address", value: "new" }), " A new address"));
    choices.append(el("p", { class: "sheet-step-title", text: "Ship to" }), ...radios);
    choices.addEventListener("change", () => {
      fields.hidden = choices.querySelector("input:checked").value !== "new";
    });
  }
  const next = el("button", { type: "submit", class: "btn btn-primary", text: "Continue to payment" });
  const form = el("form", { class: "sheet-form", novalidate: true },
    el("div", { class: "sheet-steps", "aria-label": "Step 1 of 2" }, el("strong", { text: "1 Address" }), " · 2 Payment"),
    summaryLine(), errors, choices, fields, next);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = choices.querySelector("input:checked");
    let address = null;
    if (picked && picked.value !== "new") address = { address_id: Number(picked.value) };
    else {
      const values = {};
      for (const name of ["name", "line1", "city", "region", "postal_code", "country"]) {
        const input = form.querySelector(`#bn-${name}`);
        values[name] = input.value.trim();
        input.removeAttribute("aria-invalid");
      }
      const missing = Object.entries(values).filter(([, v]) => !v).map(([k]) => k);
      if (missing.length) {
        missing.forEach((name) => form.querySelector(`#bn-${name}`).setAttribute("aria-invalid", "true"));
        showError(errors, "Fill in the highlighted fields.");
        form.querySelector(`#bn-${missing[0]}`).focus();
        return;
      }
      address = { address: values };
    }
    next.disabled = true;
    next.setAttribute("aria-busy", "true");
    try {
      const quote = await api("POST", "/api/v1/checkout/quote", { items: [{ variant_id: ctx.variant.id, quantity: ctx.quantity }], ...address });
      ctx.address = address;
      ctx.quote = quote;
      ctx.checkout = null;
      payStep();
    } catch (error) {
      showError(errors, problem(error));
      const fieldName = error.details && Array.isArray(error.details) && error.details[0] && error.details[0].field;
      if (fieldName) {
        const input = form.querySelector(`#bn-${String(fieldName).split(".").pop()}`);
        if (input) input.setAttribute("aria-invalid", "true");
      }
      next.disabled = false;
      next.removeAttribute("aria-busy");
    }
  });
  show(backButton("Product", () => productDetail(ctx.product.id)), form);
  if (!preferred) form.querySelector("#bn-name").focus();
}

function totalsList(quote) {
  const order = quote.orders[0];
  const rows = [];
  for (const o of quote.orders) {
    rows.push(["Items", money(o.subtotal, o)], ["Shipping", o.shipping ? money(o.shipping, o) : "Free"], ["Tax", money(o.tax, o)]);
    if (o.seller_discount || o.platform_discount) rows.push(["Discount", `−${money(o.seller_discount + o.platform_discount, o)}`]);
  }
  const total = Object.values(quote.totals_display || {}).join(" + ") || (order ? order.total_display : "");
  return el("dl", { class: "sheet-totals" },
    rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]),
    el("dt", { class: "total", text: "Total" }), el("dd", { class: "total", id: "sheet-total", text: total }));
}

// Amounts of the quote are minor units; the shop's currency decides the decimals.
function money(amount, order) {
  try {
    const digits = new Intl.NumberFormat("en-US", { style: "currency", currency: order.currency }).resolvedOptions().maximumFractionDigits;
    return new Intl.NumberFormat("en-US", { style: "currency", currency: order.currency }).format(amount / 10 ** digits);
  } catch {
    return `${amount} ${order.currency}`;
  }
}

function payStep(message) {
  heading.textContent = "Payment";
  const quote = ctx.quote;
  const errors = errorBox();
  const total = Object.values(quote.totals_display || {}).join(" + ");
  const payButton = el("button", { type: "submit", class: "btn btn-primary", id: "sheet-pay", text: `Pay ${total}` });
  const form = el("form", { class: "sheet-form card-form", novalidate: true, autocomplete: "off" },
    el("div", { class: "sheet-steps", "aria-label": "Step 2 of 2" }, "1 Address · ", el("strong", { text: "2 Payment" })),
    summaryLine(), totalsList(quote), errors,
    field("bn-card", "Card number", { inputmode: "numeric", autocomplete: "cc-number", placeholder: "4242 4242 4242 4242", required: true }),
    el("div", { class: "row" },
      field("bn-exp", "Expiry (MM/YY)", { placeholder: "12/30", autocomplete: "cc-exp", required: true }),
      field("bn-cvc", "CVC", { inputmode: "numeric", autocomplete: "cc-csc", maxlength: "4", placeholder: "123", required: true })),
    field("bn-cardname", "Name on card", { autocomplete: "cc-name" }),
    payButton,
    el("details", { class: "sheet-testcards" }, el("summary", { text: "Sandbox test cards" }),
      el("p", { class: "muted small", text: "No real money moves. Any future expiry, any 3-digit CVC." }),
      el("ul", {},
        el("li", {}, el("code", { text: "4242 4242 4242 4242" }), " succeeds"),
        el("li", {}, el("code", { text: "4000 0000 0000 0002" }), " is declined"),
        el("li", {}, el("code", { text: "4000 0000 0000 9995" }), " has insufficient funds"))));
  if (message) showError(errors, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const number = form.querySelector("#bn-card").value.trim();
    const exp = form.querySelector("#bn-exp").value.trim();
    const cvc = form.querySelector("#bn-cvc").value.trim();
    const expiry = exp.match(/^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/);
    form.querySelectorAll("input").forEach((input) => input.removeAttribute("aria-invalid"));
    if (number.replace(/\D/g, "").length < 12) {
      form.querySelector("#bn-card").setAttribute("aria-invalid", "true");
      showError(errors, "Enter the card number."); return;
    }
    if (!expiry) { form.querySelector("#bn-exp").setAttribute("aria-invalid", "true"); showError(errors, "Enter the expiry as MM/YY."); return; }
    if (!/^\d{3,4}$/.test(cvc)) { form.querySelector("#bn-cvc").setAttribute("aria-invalid", "true"); showError(errors, "Enter the 3 or 4 digits of the CVC."); return; }
    const year = expiry[2].length === 2 ? 2000 + Number(expiry[2]) : Number(expiry[2]);
    const card = { card_number: number, exp_month: Number(expiry[1]), exp_year: year, cvc,
      name: form.querySelector("#bn-cardname").value.trim() };
    errors.hidden = true;
    payButton.disabled = true;
    payButton.setAttribute("aria-busy", "true");
    payButton.textContent = "Paying…";
    try {
      if (!ctx.checkout) {
        ctx.checkoutKey = ctx.checkoutKey || newKey();
        ctx.checkout = await api("POST", "/api/v1/checkouts", {
          items: [{ variant_id: ctx.variant.id, quantity: ctx.quantity }], ...ctx.address,
          expected_totals: quote.totals,
          ...(ctx.options.liveId ? { live_id: ctx.options.liveId } : {}),  // a LIVE purchase (bought in the room)
        }, { headers: { "Idempotency-Key": ctx.checkoutKey } });
      }
      const paid = await api("POST", `/api/v1/checkouts/${ctx.checkout.id}/pay`, card, { headers: { "Idempotency-Key": newKey() } });
      await finished(paid);
    } catch (error) {
      payButton.disabled = false;
      payButton.removeAttribute("aria-busy");
      payButton.textContent = `Pay ${total}`;
      if (error.status === 402) {
        showError(errors, `${problem(error)} Nothing was charged.`);
        form.querySelector("#bn-card").setAttribute("aria-invalid", "true");
        form.querySelector("#bn-card").focus();
      } else if (error.code === "prices_changed" || error.code === "out_of_stock") {
        ctx.checkoutKey = null;
        showError(errors, problem(error));
      } else if (error.details && error.details.field) {
        const map = { card_number: "#bn-card", exp_month: "#bn-exp", exp_year: "#bn-exp", cvc: "#bn-cvc" };
        const input = form.querySelector(map[error.details.field] || "#bn-card");
        input.setAttribute("aria-invalid", "true");
        showError(errors, problem(error));
      } else {
        showError(errors, problem(error));
      }
    }
  });
  show(ctx.checkout ? null : backButton("Address", addressStep), form);
  form.querySelector("#bn-card").focus();
}

async function finished(checkout) {
  const waiting = (checkout.payments || []).find((p) => p.status === "requires_action" || p.status === "processing");
  const paid = (checkout.orders || []).every((o) => o.status !== "awaiting_payment");
  if (paid) { confirmation(checkout); return; }
  if (waiting) {
    heading.textContent = "Confirm the payment";
    const action = waiting.next_action && waiting.next_action.url;
    show(el("p", { role: "status", text: "Your bank asks you to confirm this payment." }),
      action ? el("a", { class: "btn btn-primary", href: action, target: "_blank", rel: "noopener", text: "Confirm payment" }) : null,
      el("p", { class: "muted small", text: "This sheet updates by itself once the payment is confirmed." }));
    poll(checkout.id, 0);
    return;
  }
  payStep("The payment did not go through. Try another card.");
}

async function poll(checkoutId, attempt) {
  if (!sheet.open || attempt > 90) return;
  await new Promise((resolve) => { setTimeout(resolve, 2000); });
  try {
    const checkout = await api("GET", `/api/v1/checkouts/${checkoutId}`);
    const failed = (checkout.payments || []).find((p) => p.status === "failed");
    if (failed) { ctx.checkout = checkout; payStep(failed.last_error_message || "The payment was declined. Try another card."); return; }
    if ((checkout.orders || []).every((o) => o.status !== "awaiting_payment")) { confirmation(checkout); return; }
  } catch { /* try again */ }
  poll(checkoutId, attempt + 1);
}

function confirmation(checkout) {
  heading.textContent = "Order placed";
  if (ctx.video.id && ctx.options.track) ctx.options.track(ctx.video.id, "purchase");
  const orders = checkout.orders || [];
  const done = el("button", { type: "button", class: "btn btn-primary", text: "Keep watching", onclick: () => sheet.close() });
  show(el("div", { class: "sheet-done", role: "status" },
    el("p", { class: "done-mark", "aria-hidden": "true", text: "✓" }),
    el("h3", { id: "order-placed", text: "Order placed — thank you!" }),
    el("p", { text: `${ctx.product.title} is on its way once ${ctx.product.shop.name} ships it.` }),
    el("ul", { class: "sheet-orders" }, orders.map((o) => el("li", {},
      el("a", { href: `/orders/${o.id}`, text: `Order ${o.number}` }), ` · ${o.total_display}`))),
    el("p", { class: "muted small", text: "We emailed you the receipt." }),
    done));
  done.focus();
}

// --- opening --------------------------------------------------------------------------------------

function productClick(productId) {
  if (!ctx.options.loggedIn || !ctx.video.id) return;  // a LIVE's products are not a video's
  api("POST", `/api/v1/videos/${ctx.video.id}/product-clicks`, { product_id: productId, src: ctx.options.source || undefined }).catch(() => {});
}

export function openShop(video, productId, options) {
  ctx = { video, product: null, variant: null, quantity: 1, options, checkout: null };
  if (!sheet.open) sheet.showModal();
  const products = video.products || [];
  if (productId || products.length === 1) {
    const id = productId || products[0].id;
    productClick(id);
    productDetail(id);
  } else {
    productList();
  }
}
