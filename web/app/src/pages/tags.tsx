/**
 * Tags (links.tags, one set per owner, names unique per owner: UNIQUE (owner_id, name)): create,
 * rename, delete; each opens the links list filtered by it. Assigning is on the link form.
 */
import { useState } from 'preact/hooks';
import { gql } from '../gql.ts';
import { CreateTag, DeleteTag, ListTags, RenameTag } from '../ops.ts';
import { A, Empty, ErrorMessage, Field, Loading, useAsync } from '../ui.tsx';

const name = (form: HTMLFormElement, field: string) => String(new FormData(form).get(field) ?? '').trim();

export function TagsPage() {
  const tags = useAsync(() => gql(ListTags), []);
  const [error, setError] = useState<unknown>();
  const [editing, setEditing] = useState<string>();
  const [said, setSaid] = useState('');
  const run = async (what: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setSaid('');
    try {
      await what();
      setSaid(done);
      tags.reload();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  return (
    <main id="main">
      <h1>Tags</h1>
      <p class="muted">Tags group links: pick them on a link's form, then filter the list by one.</p>
      <form
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget as HTMLFormElement;
          const n = name(form, 'name');
          if (await run(() => gql(CreateTag, { name: n }), `Tag "${n}" created.`)) form.reset();
        }}
      >
        <Field id="new-tag" label="New tag">
          <input id="new-tag" name="name" required maxLength={50} placeholder="e.g. newsletter" />
        </Field>
        <button type="submit" class="primary">
          Create tag
        </button>
      </form>
      {error !== undefined && <ErrorMessage error={error} />}
      <p role="status" class="ok">
        {said}
      </p>
      {tags.loading && !tags.data ? (
        <Loading label="Loading your tags…" />
      ) : tags.error !== undefined ? (
        <ErrorMessage error={tags.error} retry={tags.reload} />
      ) : !tags.data?.links_tags.length ? (
        <Empty>
          <p>No tags yet. Create one above.</p>
        </Empty>
      ) : (
        <table>
          <caption class="sr-only">Your tags</caption>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tags.data.links_tags.map((t) => (
              <tr key={t.id}>
                <td>
                  {editing === t.id ? (
                    <form
                      class="inline-form"
                      onSubmit={async (e) => {
                        e.preventDefault();
                        const n = name(e.currentTarget as HTMLFormElement, 'name');
                        if (await run(() => gql(RenameTag, { id: t.id, name: n }), `Tag renamed to "${n}".`)) setEditing(undefined);
                      }}
                    >
                      <Field id={`rename-${t.id}`} label={`New name for ${t.name}`}>
                        <input id={`rename-${t.id}`} name="name" required maxLength={50} defaultValue={t.name} />
                      </Field>
                      <button type="submit" class="primary">
                        Save
                      </button>
                      <button type="button" onClick={() => setEditing(undefined)}>
                        Cancel
                      </button>
                    </form>
                  ) : (
                    <A href={`/?tag=${encodeURIComponent(t.id)}&status=all`}>{t.name}</A>
                  )}
                </td>
                <td>
                  {editing !== t.id && (
                    <button type="button" aria-label={`Rename tag ${t.name}`} onClick={() => setEditing(t.id)}>
                      Rename
                    </button>
                  )}
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete tag ${t.name}`}
                    onClick={async () => {
                      if (!confirm(`Delete the tag "${t.name}"? Its links stay; they just lose this tag.`)) return;
                      await run(() => gql(DeleteTag, { id: t.id }), `Tag "${t.name}" deleted.`);
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
