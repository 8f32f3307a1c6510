/** Browser entry: start routing and auth, render the shell. */
import { render } from 'preact'
import { App } from './app.tsx'
import { startRouter } from './router.ts'
import { installAuthHandlers, loadMe } from './state/auth.ts'

startRouter()
installAuthHandlers()
void loadMe()
render(<App />, document.getElementById('app')!)
