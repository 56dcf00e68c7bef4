// Mercato web app: small progressive enhancements. Pages work without this file.

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// htmx requests carry the CSRF token as a header (the server also accepts the form field).
document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-CSRF-Token"] = csrfToken();
});

// Variant picker: choosing option values selects the matching variant and shows its price and stock.
function setupVariantPicker() {
  const data = document.getElementById("variants-data");
  const picker = document.getElementById("variant-picker");
  if (!data || !picker) return;
  const variants = JSON.parse(data.textContent || "[]");
  const price = document.getElementById("price");
  const compare = document.getElementById("compare");
  const stock = document.getElementById("stock");
  const sku = document.getElementById("sku");
  const update = () => {
    const chosen = {};
    picker.querySelectorAll("input[data-option]:checked").forEach((input) => {
      chosen[input.dataset.option] = input.value;
    });
    const match = variants.find((v) => Object.entries(chosen).every(([k, val]) => v.options[k] === val));
    if (!match) {
      stock.textContent = "This combination is not available";
      stock.className = "stock out";
      document.querySelectorAll("#add-to-cart, #buy-now").forEach((button) => { button.disabled = true; });
      return;
    }
    price.textContent = match.price_display;
    compare.textContent = match.compare_at_display || "";
    if (match.available <= 0) {
      stock.textContent = "Out of stock";
      stock.className = "stock out";
    } else {
      stock.textContent = match.available <= 5 ? `Only ${match.available} left` : "In stock";
      stock.className = match.available <= 5 ? "stock low" : "stock";
    }
    sku.textContent = match.sku ? `SKU ${match.sku}` : "";
    picker.dataset.variant = String(match.id);
    const chosenVariant = document.getElementById("buy-variant");
    if (chosenVariant) chosenVariant.value = String(match.id);
    document.querySelectorAll("#add-to-cart, #buy-now").forEach((button) => {
      button.disabled = match.available <= 0;
    });
  };
  picker.addEventListener("change", update);
  picker.addEventListener("submit", (event) => event.preventDefault());
  update();
}

// Product gallery: clicking or pressing Enter on a thumbnail shows it large.
function setupGallery() {
  const main = document.querySelector(".gallery .main-img");
  document.querySelectorAll(".thumbs img").forEach((thumb) => {
    const show = () => { if (main && thumb.dataset.full) main.src = thumb.dataset.full; };
    thumb.addEventListener("click", show);
    thumb.addEventListener("keydown", (e) => { if (e.key === "Enter") show(); });
  });
}

// Disable submit buttons while a form is being sent (no double submits).
function setupForms() {
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.method.toLowerCase() !== "post" || form.hasAttribute("hx-post")) return;
      if (form.dataset.sending === "1") { event.preventDefault(); return; }  // no double submits
      form.dataset.sending = "1";
      const button = event.submitter;
      if (button) setTimeout(() => { button.disabled = true; button.setAttribute("aria-busy", "true"); }, 0);
    });
  });
}

// Typing a new address on the checkout selects "A new address".
function setupAddressChoice() {
  const fields = document.querySelector(".address-fields");
  const choice = document.querySelector("input[name=address_id][value=new]");
  if (!fields || !choice) return;
  fields.addEventListener("input", () => { choice.checked = true; });
}

// Keep the active Seller Center tab in view on a phone.
function revealActiveTab() {
  const active = document.querySelector(".seller-nav a.active");
  if (active && active.scrollIntoView) active.scrollIntoView({ block: "nearest", inline: "center" });
}

// Demo log-ins on the sign-in page fill the form in one click.
function setupDemoLogins() {
  document.querySelectorAll(".demo-fill").forEach((button) => {
    button.addEventListener("click", () => {
      document.getElementById("email").value = button.dataset.email;
      document.getElementById("password").value = button.dataset.password;
      document.querySelector("form[action='/login'] button[type=submit]").focus();
    });
  });
}

// The community event banner (loaded by htmx on For You and LIVE): dismissed once, it stays
// hidden for that event on this device.
function setupEventBanner() {
  const dismissed = (slug) => { try { return localStorage.getItem(`event-banner:${slug}`) === "1"; } catch { return false; } };
  const hideKnown = () => document.querySelectorAll(".event-banner").forEach((banner) => {
    if (dismissed(banner.dataset.event)) banner.hidden = true;
  });
  document.addEventListener("htmx:afterSettle", hideKnown);
  document.addEventListener("click", (event) => {
    const button = event.target.closest ? event.target.closest("[data-dismiss-event]") : null;
    if (!button) return;
    try { localStorage.setItem(`event-banner:${button.dataset.dismissEvent}`, "1"); } catch { /* private mode */ }
    button.closest(".event-banner").hidden = true;
  });
  hideKnown();
}

setupVariantPicker();
setupDemoLogins();
setupEventBanner();
setupAddressChoice();
revealActiveTab();
setupGallery();
setupForms();
