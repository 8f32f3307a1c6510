import type { ComponentChildren } from 'preact'
import { useRef } from 'preact/hooks'

export interface TabDef<K extends string> {
  key: K
  label: ComponentChildren
}

/**
 * WAI-ARIA tabs: arrow keys, Home and End move between tabs; only the selected tab is in the tab order.
 * `idPrefix` keeps ids unique; test ids are `${testid}-tab-<key>` and `${testid}-panel`.
 */
export function Tabs<K extends string>(props: {
  tabs: TabDef<K>[]
  selected: K
  onSelect: (key: K) => void
  idPrefix: string
  label: string
  testid: string
  children: ComponentChildren
}) {
  const { tabs, selected, onSelect, idPrefix, testid } = props
  const list = useRef<HTMLDivElement>(null)

  const onKeyDown = (e: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.key === selected)
    let next = -1
    if (e.key === 'ArrowRight') next = (i + 1) % tabs.length
    else if (e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length
    else if (e.key === 'Home') next = 0
    else if (e.key === 'End') next = tabs.length - 1
    if (next === -1) return
    e.preventDefault()
    onSelect(tabs[next]!.key)
    list.current?.querySelectorAll<HTMLButtonElement>('[role="tab"]')[next]?.focus()
  }

  return (
    <div class="tabs">
      <div class="tabs__list" role="tablist" aria-label={props.label} ref={list} onKeyDown={onKeyDown}>
        {tabs.map((t) => (
          <button
            type="button"
            role="tab"
            key={t.key}
            id={`${idPrefix}-tab-${t.key}`}
            class="tabs__tab"
            aria-selected={t.key === selected}
            aria-controls={`${idPrefix}-panel`}
            tabIndex={t.key === selected ? 0 : -1}
            data-testid={`${testid}-tab-${t.key}`}
            onClick={() => onSelect(t.key)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        class="tabs__panel"
        role="tabpanel"
        id={`${idPrefix}-panel`}
        aria-labelledby={`${idPrefix}-tab-${selected}`}
        data-testid={`${testid}-panel`}
        data-tab={selected}
        tabIndex={0}
      >
        {props.children}
      </div>
    </div>
  )
}
